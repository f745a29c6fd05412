/**
 * The Finance story, run as a user with only the Finance group: the billing
 * forecast by year, then a subscription whose activation failed (no yearly
 * price) is fixed, retried and billed. tests/test_tours.py builds the data.
 */
import { registry } from "@web/core/registry";
import { serviceModelSteps as sm } from "./service_model_tour_utils";

registry.category("web_tour.tours").add("service_model_finance_tour", {
    url: "/odoo",
    steps: () => [
        ...sm.openApp(),
        ...sm.openMenu(
            "service_model.service_model_menu_billing",
            "service_model.service_billing_period_menu",
            "Billing Forecast"
        ),
        {
            content: "The forecast shows this year's amounts",
            trigger: `.o_pivot .o_pivot_header_cell_closed:contains(${new Date().getFullYear()})`,
        },
        ...sm.openMenu(
            "service_model.service_model_menu_billing",
            "service_model.service_subscription_menu_billing_errors",
            "Billing Errors"
        ),
        {
            content: "Open the subscription in error",
            trigger: ".o_list_view .o_data_row:contains(TOUR-ERR-1) td[name=name]",
            run: "click",
        },
        {
            content: "The form says why billing failed",
            trigger: ".o_form_view .alert-danger:contains(price)",
        },
        sm.fill("amount", "180"),
        ...sm.save(),
        sm.clickButton("action_retry_billing"),
        {
            content: "The error is cleared",
            trigger: ".o_form_view .o_form_sheet:not(:has(.alert-danger [name=billing_error]))",
        },
        sm.clickButton("action_activate"),
        sm.statusIs("Active"),
        {
            content: "Year 1 is invoiced",
            trigger: ".o_form_view button[name=action_view_invoices]:contains(1)",
        },
        ...sm.yearOneInvoiced(),
    ],
});
