/**
 * Communications in the browser: a Service Administrator switches a cell of the
 * communication matrix on; a CS user opens an account and previews an event,
 * reading who gets what and why the others do not. tests/test_tours.py builds
 * the account and checks the matrix between the two tours.
 */
import { registry } from "@web/core/registry";
import { serviceModelSteps as sm } from "./service_model_tour_utils";

const openMatrix = () =>
    sm.openMenu(
        "service_model.service_model_menu_configuration",
        "service_model_comms.service_comm_rule_menu",
        "Communication Matrix"
    );
const customerSuccessRow = ".o_list_view .o_data_row:contains(Account activated):contains(Customer Success)";

registry.category("web_tour.tours").add("service_model_comms_admin_tour", {
    url: "/odoo",
    steps: () => [
        ...sm.openApp(),
        ...openMatrix(),
        {
            content: "Open the rules of the event Account activated",
            trigger: ".o_list_view .o_group_header:contains(Account activated)",
            run: "click",
        },
        {
            content: "Customer Success gets no email of it yet",
            trigger: `${customerSuccessRow} td[name=send_email] input:not(:checked)`,
        },
        {
            content: "Switch the email to Customer Success on",
            trigger: `${customerSuccessRow} td[name=send_email] input`,
            run: "click",
        },
        {
            content: "Its template shows",
            trigger: `${customerSuccessRow} td[name=mail_template_id]:contains(account activated)`,
        },
        // open the matrix again: the change is saved
        ...openMatrix(),
        {
            content: "Open the rules of the event Account activated again",
            trigger: ".o_list_view .o_group_header:contains(Account activated)",
            run: "click",
        },
        {
            content: "Customer Success now gets the email",
            trigger: `${customerSuccessRow} td[name=send_email] input:checked`,
        },
    ],
});

registry.category("web_tour.tours").add("service_model_comms_cs_tour", {
    url: "/odoo",
    steps: () => [
        ...sm.openAccount("TOUR-COMM-1"),
        {
            content: "Open its communications",
            trigger: ".o_notebook .nav-link[name=communications]",
            run: "click",
        },
        {
            content: "Preview what an event would send",
            trigger: ".o_notebook button:contains(Preview Communications)",
            run: "click",
        },
        {
            content: "Customer Success gets the email the administrator switched on",
            trigger: ".modal .o_service_comm_preview tr:contains(Customer Success):contains(Casey CS):contains(Sent)",
        },
        {
            content: "The contractor gets it too",
            trigger: ".modal .o_service_comm_preview tr:contains(Contractor):contains(Tour Sparks):contains(Sent)",
        },
        {
            content: "The end user does not, and why",
            trigger:
                ".modal .o_service_comm_preview tr:contains(End user):contains(Suppressed):contains(no usable email address)",
        },
        {
            content: "Nobody holds the agency's role, and the preview says so",
            trigger: ".modal .o_service_comm_preview tr:contains(Agency):contains(no one in this role)",
        },
        {
            content: "Close the preview: nothing was sent",
            trigger: ".modal button:contains(Close)",
            run: "click",
        },
        {
            content: "The preview is closed",
            trigger: "body:not(:has(.modal .o_service_comm_preview))",
        },
    ],
});
