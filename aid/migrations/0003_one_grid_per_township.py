"""One grid per township, and one grid of a name per county, as database constraints.

GridGroup.townships gets an explicit through model on the table it already had, so no row
moves (the documented SeparateDatabaseAndState way); then the constraints are added.
"""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("aid", "0002_visit_history_details"),
        ("students", "0003_boarders_and_grid_leaders"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="GridTownship",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("gridgroup", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="aid.gridgroup")),
                        ("region", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="students.region")),
                    ],
                    options={"db_table": "aid_gridgroup_townships"},
                ),
                migrations.AlterField(
                    model_name="gridgroup",
                    name="townships",
                    field=models.ManyToManyField(
                        related_name="grid_groups", through="aid.GridTownship", to="students.region",
                        verbose_name="townships",
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="gridtownship",
            constraint=models.UniqueConstraint(fields=("region",), name="township_in_one_grid"),
        ),
        migrations.AddConstraint(
            model_name="gridgroup",
            constraint=models.UniqueConstraint(fields=("region", "name"), name="grid_name_unique_in_county"),
        ),
    ]
