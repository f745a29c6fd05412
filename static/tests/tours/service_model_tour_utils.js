import { stepUtils } from "@web_tour/tour_service/tour_utils";

/** Steps shared by the Service Model tours: stable selectors only (xmlids, field and button names). */
export const serviceModelSteps = {
    openApp() {
        return stepUtils.goToAppSteps(
            "service_model.service_model_menu_root",
            "Open the Service Model app"
        );
    },
    /** Opens a menu of the app's top bar and waits for its view (breadcrumb ``title``). */
    openMenu(sectionXmlid, menuXmlid, title) {
        return [
            {
                content: "Open the menu section",
                trigger: `.o_menu_sections button[data-menu-xmlid='${sectionXmlid}']`,
                run: "click",
            },
            {
                content: `Open ${title}`,
                trigger: `.dropdown-item[data-menu-xmlid='${menuXmlid}']`,
                run: "click",
            },
            {
                content: `${title} is shown`,
                trigger: `.o_breadcrumb .active:contains(${title})`,
            },
        ];
    },
    /** From the app's home: the service accounts list, then the account ``reference``. */
    openAccount(reference) {
        return [
            ...this.openApp(),
            ...this.openMenu(
                "service_model.service_model_menu_operations",
                "service_model.service_account_menu",
                "Service Accounts"
            ),
            {
                content: `Open the account ${reference}`,
                trigger: `.o_list_view .o_data_row:contains(${reference}) td[name=property_reference]`,
                run: "click",
            },
        ];
    },
    fill(fieldName, value, scope = ".o_form_view") {
        return {
            content: `Fill ${fieldName}`,
            trigger: `${scope} .o_field_widget[name=${fieldName}] input`,
            run: `edit ${value}`,
        };
    },
    clickButton(buttonName, scope = ".o_form_view") {
        return {
            content: `Click ${buttonName}`,
            trigger: `${scope} button[name=${buttonName}]:enabled`,
            run: "click",
        };
    },
    statusIs(label) {
        return {
            content: `The status is ${label}`,
            trigger: `.o_form_view .o_statusbar_status button.o_arrow_button_current:contains(${label})`,
        };
    },
    save() {
        return [
            {
                content: "Save",
                trigger: ".o_form_view .o_form_button_save:enabled",
                run: "click",
            },
            {
                content: "Saved",
                trigger: ".o_form_view .o_form_saved",
            },
        ];
    },
    /** On a subscription form: its billing schedule shows year 1 invoiced. */
    yearOneInvoiced() {
        return [
            {
                content: "Open the billing schedule",
                trigger: ".o_notebook .nav-link[name=billing_schedule]",
                run: "click",
            },
            {
                content: "Year 1 is invoiced",
                trigger:
                    ".o_field_widget[name=billing_period_ids] .o_data_row:first td[name=state]:contains(Invoiced)",
            },
        ];
    },
};
