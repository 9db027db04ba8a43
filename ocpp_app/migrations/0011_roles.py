"""The two roles: viewers read the pages and the API, operators also command
and change the network (services/roles.py). Existing staff members who are not
superusers become operators, so nobody loses what they could do."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWERS = "Viewers"
OPERATORS = "Operators"


def add_groups(apps, schema_editor):
    # Permissions are normally created after the last migration; the groups
    # need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("auth", "User")
    view = Permission.objects.get(content_type__app_label="ocpp_app", codename="view_network")
    viewers, _ = Group.objects.get_or_create(name=VIEWERS)
    viewers.permissions.add(view)
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    operators.permissions.add(*Permission.objects.filter(content_type__app_label="ocpp_app"))
    for user in User.objects.filter(is_staff=True, is_superuser=False):
        user.groups.add(operators)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[VIEWERS, OPERATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ocpp_app", "0010_allocation_failed_state"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="charger",
            options={
                "ordering": ["charger_id"],
                "permissions": [
                    ("view_network", "Can view the network's pages and read the REST API"),
                    ("operate_network", "Can send commands and change the network from the pages and the REST API"),
                ],
            },
        ),
        migrations.RunPython(add_groups, remove_groups),
    ]
