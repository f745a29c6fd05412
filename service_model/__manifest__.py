{
    "name": "Service Model",
    "summary": "Service accounts, jobs with a documented due-date engine, "
    "multi-year subscriptions and billing for a B2B service business",
    "version": "18.0.1.0.0",
    "category": "Services",
    "license": "LGPL-3",
    "author": "Service Model",
    "website": "https://github.com/service-model/service-model",
    "depends": ["base_setup", "mail", "account", "resource"],
    "data": [
        "security/service_model_groups.xml",
        "security/ir.model.access.csv",
        "views/res_config_settings_views.xml",
        "views/service_model_menus.xml",
    ],
    "application": True,
    "installable": True,
}
