import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_audit_log_and_service_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="audit_double_sample",
            field=models.FloatField(
                default=0.1,
                help_text="share of reviewed objects that two different inspectors judge (the "
                "others leave the review queue after one), to measure inspector-vs-inspector "
                "agreement",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(1.0),
                ],
            ),
        ),
    ]
