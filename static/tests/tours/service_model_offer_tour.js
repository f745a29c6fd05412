/**
 * Offer eligibility in the browser: a Service Administrator creates an offer
 * and previews it before saving; a CS user opens an account and reads why it
 * is or is not eligible. tests/test_tours.py builds the accounts and runs the
 * evaluation between the two tours.
 */
import { registry } from "@web/core/registry";
import { serviceModelSteps as sm } from "./service_model_tour_utils";

registry.category("web_tour.tours").add("service_model_offer_admin_tour", {
    url: "/odoo",
    steps: () => [
        ...sm.openApp(),
        ...sm.openMenu(
            "service_model.service_model_menu_configuration",
            "service_model.service_offer_menu",
            "Offers"
        ),
        {
            content: "Create an offer",
            trigger: ".o_control_panel .o_list_button_add",
            run: "click",
        },
        sm.fill("name", "Tour House Offer"),
        {
            content: "Active accounts are ticked by default",
            trigger: ".o_form_view .o_field_widget[name=stage_active] input:checked",
        },
        {
            content: "For houses",
            trigger: ".o_form_view .o_field_widget[name=property_type_house] input",
            run: "click",
        },
        {
            content: "Open the preview",
            trigger: ".o_notebook .nav-link[name=preview]",
            run: "click",
        },
        {
            content: "Before saving: one of the two tour accounts is eligible",
            trigger: ".o_field_widget[name=preview_eligible_count]:contains(1)",
        },
        {
            content: "The sample says why the flat is not",
            trigger: ".o_field_widget[name=preview_sample]:contains(TOUR-OFF-2):contains(Flat)",
        },
        ...sm.save(),
    ],
});

registry.category("web_tour.tours").add("service_model_offer_cs_tour", {
    url: "/odoo",
    steps: () => [
        ...sm.openApp(),
        ...sm.openMenu(
            "service_model.service_model_menu_operations",
            "service_model.service_account_menu",
            "Service Accounts"
        ),
        {
            content: "Open the flat",
            trigger: ".o_list_view .o_data_row:contains(TOUR-OFF-2) td[name=property_reference]",
            run: "click",
        },
        {
            content: "Open its offers",
            trigger: ".o_notebook .nav-link[name=offers]",
            run: "click",
        },
        {
            content: "Not eligible, and why",
            trigger:
                ".o_field_widget[name=offer_result_ids] .o_data_row:contains(Tour House Offer) td[name=reasons]:contains(House)",
        },
        {
            content: "Back to the list",
            trigger: ".o_breadcrumb a:contains(Service Accounts)",
            run: "click",
        },
        {
            content: "Open the house",
            trigger: ".o_list_view .o_data_row:contains(TOUR-OFF-1) td[name=property_reference]",
            run: "click",
        },
        {
            content: "Its Offers button counts the eligible offer",
            trigger: ".o_form_view button[name=action_view_offers]:contains(1)",
        },
    ],
});
