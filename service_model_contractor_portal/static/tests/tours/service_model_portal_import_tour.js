/**
 * A contractor's portal user uploads a file of service dates whose dates can
 * be read both ways, answers "day first", previews, applies and finds the
 * rejected rows to download. The Python side (tests/test_portal_tour.py)
 * provides the accounts; the file names TOUR-P-0002 and an unknown property.
 */
import { registry } from "@web/core/registry";

const FILE = "Ref,Date\r\nTOUR-P-0002,03/04/2025\r\nNOT-OURS-1,05/06/2025\r\n";

registry.category("web_tour.tours").add("service_model_portal_import_tour", {
    url: "/my",
    steps: () => [
        {
            content: "Open the service dates from the portal home",
            trigger: ".o_portal_index_card a[href='/my/imports']",
            run: "click",
        },
        {
            content: "Choose the file",
            trigger: "#import_upload input[name=import_file]",
            run() {
                const transfer = new DataTransfer();
                transfer.items.add(new File([FILE], "dates.csv", { type: "text/csv" }));
                this.anchor.files = transfer.files;
            },
        },
        {
            content: "Upload it",
            trigger: "#import_upload button[name=upload]",
            run: "click",
        },
        {
            content: "The import asks how to read the dates",
            trigger: "#import_read .alert-warning",
        },
        {
            content: "Answer: day first",
            trigger: "#import_read select[name=date_order]",
            run: "select dmy",
        },
        {
            content: "Read the file again",
            trigger: "#import_read button[name=read]",
            run: "click",
        },
        {
            content: "The preview shows the rejected row and why",
            trigger: "#import_preview tr.table-danger:contains(NOT-OURS-1)",
        },
        {
            content: "Apply",
            trigger: "#import_apply button[name=apply]",
            run: "click",
        },
        {
            content: "The import is applied and its rejected rows can be downloaded",
            trigger: "#import_rejected[href$='/rejected']",
        },
    ],
});
