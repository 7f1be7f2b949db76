"""Simplified Chinese formats as Django has them, but amounts grouped by thousands with a
comma (¥400,000.00), as Chinese financial reports and bank slips write them: Django's
default for zh-hans groups nothing."""
from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
