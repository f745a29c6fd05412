/**
 * An agency's portal user, from /my: opens a property it manages, sees its
 * job, and opens the property's invoice on Odoo's own invoice page.
 * The Python side (tests/test_portal_tour.py) provides the invoiced account.
 */
import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("service_model_portal_agency_tour", {
    url: "/my",
    steps: () => [
        {
            content: "Open the properties from the portal home",
            trigger: ".o_portal_index_card a[href='/my/properties']",
            run: "click",
        },
        {
            content: "Open the property",
            trigger: ".o_portal_my_doc_table a:contains(PA-SOON)",
            run: "click",
        },
        {
            content: "The property shows its jobs",
            trigger: "#property_jobs .badge:contains(Done)",
        },
        {
            content: "Open the property's invoice",
            trigger: "#property_invoices a[href*='/my/invoices/']",
            run: "click",
        },
        {
            content: "Odoo's own invoice page is shown",
            trigger: ".o_portal_invoice_sidebar",
        },
    ],
});
