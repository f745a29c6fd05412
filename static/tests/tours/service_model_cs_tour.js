/**
 * The Customer Success story, run as a user with only the CS user group:
 * a new service account with its partners, the checklist, activation, a
 * service date, the job done, and the subscription with its invoice status.
 * The Python side (tests/test_tours.py) provides the service type and plan.
 */
import { registry } from "@web/core/registry";
import { formatDate } from "@web/core/l10n/dates";
import { serviceModelSteps as sm } from "./service_model_tour_utils";

const { DateTime } = luxon;

const REFERENCE = "TOUR-0001";
const CHECKLIST = ".o_field_widget[name=checklist_item_ids]";
const UNTICKED = `${CHECKLIST} .o_field_boolean_toggle input:not(:checked)`;
const YEAR_ONE = ".o_field_widget[name=billing_period_ids] .o_data_row:first";
const DONE = ".o_form_view .o_statusbar_status button.o_arrow_button_current[data-value=done]";

registry.category("web_tour.tours").add("service_model_cs_tour", {
    url: "/odoo",
    steps: () => [
        ...sm.openApp(),
        ...sm.openMenu(
            "service_model.service_model_menu_operations",
            "service_model.service_account_menu",
            "Service Accounts"
        ),
        {
            content: "Create a service account",
            trigger: ".o_control_panel_main_buttons .o_list_button_add",
            run: "click",
        },
        sm.fill("property_reference", REFERENCE),
        sm.fill("street", "1 Tour Street"),
        sm.fill("city", "Bristol"),
        // the end user, with "Create and edit...": activation needs an email
        sm.fill("end_user_id", "Tess Tourwright"),
        {
            content: "Create and edit the end user",
            trigger:
                ".o_field_widget[name=end_user_id] .o-autocomplete--dropdown-menu .o_m2o_dropdown_option_create_edit a",
            run: "click",
        },
        sm.fill("email", "tess@tourwright.example", ".modal .o_form_view"),
        {
            content: "Save the end user",
            trigger: ".modal .o_form_button_save:enabled",
            run: "click",
        },
        {
            content: "The end user is set",
            trigger:
                ".o_field_widget[name=end_user_id] input:value(Tess Tourwright)",
        },
        // the contractor, with the quick create
        sm.fill("contractor_id", "Tour Contractors Ltd"),
        {
            content: "Quick create the contractor",
            trigger:
                ".o_field_widget[name=contractor_id] .o-autocomplete--dropdown-menu .o_m2o_dropdown_option_create a",
            run: "click",
        },
        {
            content: "The contractor is set",
            trigger: ".o_field_widget[name=contractor_id] input:value(Tour Contractors Ltd)",
        },
        sm.fill("service_type_id", "Tour Safety Inspection"),
        {
            content: "Pick the service type",
            trigger:
                ".o_field_widget[name=service_type_id] .o-autocomplete--dropdown-item a:contains(Tour Safety Inspection)",
            run: "click",
        },
        {
            content: "The plan product follows the service type",
            trigger: ".o_field_widget[name=plan_product_id] input:value(Tour Safety Plan)",
        },
        sm.fill("plan_yearly_price", "150"),
        ...sm.save(),
        sm.clickButton("action_start_onboarding"),
        sm.statusIs("Onboarding"),
        {
            content: "Open the handoff checklist",
            trigger: ".o_notebook .nav-link[name=checklist]",
            run: "click",
        },
        {
            content: "Tick every item of the checklist",
            trigger: UNTICKED,
            async run(helpers) {
                let toggle = document.querySelector(UNTICKED);
                while (toggle) {
                    await helpers.click(toggle);
                    await new Promise((resolve) => setTimeout(resolve, 100));
                    toggle = document.querySelector(UNTICKED);
                }
            },
        },
        {
            content: "The checklist is complete",
            trigger: `${CHECKLIST}:not(:has(.o_field_boolean_toggle input:not(:checked)))`,
        },
        ...sm.save(),
        {
            content: "Nothing is missing before activation",
            trigger: ".o_form_view .o_form_sheet:not(:has(.alert-warning [name=missing_items]))",
        },
        sm.clickButton("action_activate"),
        sm.statusIs("Active"),
        sm.clickButton("action_record_service_date"),
        {
            content: "Enter the last service date, eleven months ago",
            trigger: ".modal .o_field_widget[name=service_date] input",
            async run(helpers) {
                await helpers.edit(formatDate(DateTime.now().minus({ months: 11 })));
            },
        },
        sm.clickButton("action_apply", ".modal"),
        {
            content: "The engine created the open job",
            trigger: ".o_form_view .o_field_widget[name=open_job_id] a.o_form_uri",
            run: "click",
        },
        sm.statusIs("Accepted"),
        {
            content: "Complete the job, confirming today's date if the job asks for it",
            trigger:
                ".o_form_view button[name=action_complete]:enabled, .o_form_view button[name=action_done]:enabled",
            async run(helpers) {
                await helpers.click();
                for (let wait = 0; wait < 100; wait++) {
                    const apply = document.querySelector(".modal button[name=action_apply]");
                    if (apply) {
                        await helpers.click(apply);
                        return;
                    }
                    if (document.querySelector(DONE)) {
                        return;
                    }
                    await new Promise((resolve) => setTimeout(resolve, 100));
                }
            },
        },
        sm.statusIs("Done"),
        {
            content: "Back to the account",
            trigger: `.o_breadcrumb .breadcrumb-item a:contains(${REFERENCE})`,
            run: "click",
        },
        {
            content: "The completed job started the subscription",
            trigger: ".o_form_view button[name=action_view_subscriptions]",
            run: "click",
        },
        sm.statusIs("Active"),
        ...sm.yearOneInvoiced(),
        {
            content: "Without accounting rights, CS sees the invoice's number",
            trigger: `${YEAR_ONE} td[name=invoice_name]:contains(INV/)`,
        },
        {
            content: "and whether it is paid",
            trigger: `${YEAR_ONE} td[name=invoice_payment_state]:contains(Not Paid)`,
        },
    ],
});
