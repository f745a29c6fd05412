{
    "name": "Service Model - Contractor Portal",
    "summary": "Portal for contractors (their jobs, completion, date upload) and agencies",
    "version": "18.0.1.0.0",
    "category": "Services",
    "license": "LGPL-3",
    "author": "Service Model",
    "website": "https://github.com/service-model/service-model",
    "depends": ["service_model", "portal"],
    "data": [
        "security/ir.model.access.csv",
        "security/service_model_contractor_portal_rules.xml",
        "views/portal_templates.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "service_model_contractor_portal/static/tests/tours/**/*",
        ],
    },
    "installable": True,
}
