import pytz

# pytz's common_timezones is a curated list: current, human-facing zones without the legacy aliases.
TIME_ZONE_CHOICES = [(name, name.replace("_", " ")) for name in pytz.common_timezones]
