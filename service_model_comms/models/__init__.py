from . import (
    ir_actions_server,
    mail_template,
    res_company,
    res_config_settings,
    res_partner,
    service_account,
    service_comm_decision,
    service_comm_dispatcher,
    service_comm_event,
    service_comm_rule,
    service_comm_suppression,
    service_job,
)
