/**
 * A contractor's portal user, from /my: opens the job, accepts it, leaves the
 * certificate in a message for CS and completes the job on today's date.
 * The Python side (tests/test_portal_tour.py) provides the pending job.
 */
import { registry } from "@web/core/registry";

const CHATTER = "#chatterRoot:shadow";

registry.category("web_tour.tours").add("service_model_portal_job_tour", {
    url: "/my",
    steps: () => [
        {
            content: "Open the jobs from the portal home",
            trigger: ".o_portal_index_card a[href='/my/jobs']",
            run: "click",
        },
        {
            content: "Open the job of the property",
            trigger: ".o_portal_my_doc_table a:contains(TOUR-P-0001)",
            run: "click",
        },
        {
            content: "Accept the job",
            trigger: "#job_actions button[name=accept]",
            run: "click",
        },
        {
            content: "The job is accepted",
            trigger: "#job_message:contains(You accepted the job)",
        },
        {
            content: "Write a message for CS",
            trigger: `${CHATTER} .o-mail-Composer-input`,
            run: "edit Gas safety certificate attached",
        },
        {
            content: "Attach the certificate",
            trigger: `${CHATTER} .o-mail-Composer button[aria-label='Attach files']`,
            async run() {
                const root = document.querySelector("#chatterRoot").shadowRoot;
                const input = root.querySelector(".o-mail-Composer-coreMain .o_input_file");
                const transfer = new DataTransfer();
                transfer.items.add(
                    new File(["%PDF-1.4 certificate"], "certificate.pdf", {
                        type: "application/pdf",
                    })
                );
                input.files = transfer.files;
                input.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "The certificate is uploaded",
            trigger: `${CHATTER} .o-mail-AttachmentCard[title='certificate.pdf']:not(.o-isUploading)`,
        },
        {
            content: "Send the message",
            trigger: `${CHATTER} .o-mail-Composer-send:enabled`,
            run: "click",
        },
        {
            content: "The message is posted with the certificate",
            trigger: `${CHATTER} .o-mail-Message:contains(Gas safety certificate attached)`,
        },
        {
            content: "Complete the job on today's date",
            trigger: "#job_actions button[name=complete]",
            run: "click",
        },
        {
            content: "The job is done",
            trigger: "#job_message:contains(The job is done)",
        },
    ],
});
