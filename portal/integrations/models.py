"""Integration records: SharePoint and Skype for Business / Lync servers that use Exchange."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from connectivity import lifecycle
from connectivity.availability import PLANS
from portal.tenants.models import Tenant


class Product(models.TextChoices):
    SHAREPOINT_2013 = "sharepoint_2013", "SharePoint Server 2013"
    SHAREPOINT_2016 = "sharepoint_2016", "SharePoint Server 2016"
    SHAREPOINT_2019 = "sharepoint_2019", "SharePoint Server 2019"
    SHAREPOINT_SE = "sharepoint_se", "SharePoint Server Subscription Edition"
    SHAREPOINT_ONLINE = "sharepoint_online", "SharePoint Online"
    OCS_2007_R2 = "ocs_2007_r2", "Office Communications Server 2007 R2"
    LYNC_2010 = "lync_2010", "Lync Server 2010"
    LYNC_2013 = "lync_2013", "Lync Server 2013"
    SFB_2015 = "sfb_2015", "Skype for Business Server 2015"
    SFB_2019 = "sfb_2019", "Skype for Business Server 2019"


class Feature(models.TextChoices):
    SITE_MAILBOXES = "site_mailboxes", _("Site mailboxes")
    EDISCOVERY = "ediscovery", _("eDiscovery")
    S2S_OAUTH = "s2s_oauth", _("Server-to-server OAuth")
    EWS_CALENDAR = "ews_calendar", _("EWS free/busy, calendar and out-of-office")
    IM_PRESENCE = "im_presence", _("IM and presence in Outlook on the web")
    VOICEMAIL = "voicemail", _("Voicemail")


SHAREPOINT_FEATURES = [Feature.SITE_MAILBOXES, Feature.EDISCOVERY, Feature.S2S_OAUTH]
SKYPE_FEATURES = [Feature.EWS_CALENDAR, Feature.IM_PRESENCE, Feature.VOICEMAIL]


class Status(models.TextChoices):
    GREEN = "green", _("Working")
    AMBER = "amber", _("Working with warnings")
    RED = "red", _("Not working")
    RETIRED = "retired", _("Retired")


class Integration(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(_("name"), max_length=120)
    product = models.CharField(_("product and version"), max_length=30, choices=Product.choices)
    features = models.JSONField(_("Exchange features used"), default=list)
    web_app_url = models.URLField(
        _("SharePoint web application URL"), blank=True,
        help_text=_("For example https://sharepoint.contoso.com"),
    )  # fmt: skip
    pool_fqdn = models.CharField(_("Skype pool FQDN"), max_length=253, blank=True)
    pool_port = models.PositiveIntegerField(_("Skype pool TLS port"), default=5061)
    edge_fqdn = models.CharField(_("Edge FQDN"), max_length=253, blank=True)
    sip_domain = models.CharField(_("SIP domain"), max_length=253, blank=True)
    account = models.CharField(
        _("account or partner application"), max_length=254, blank=True,
        help_text=_("The service account or partner application the product uses with Exchange."),
    )  # fmt: skip
    test_mailbox = models.EmailField(
        _("test mailbox"), blank=True,
        help_text=_("Mailbox whose out-of-office and free/busy the checks read; empty uses the "
                    "tenant's default test mailbox."),
    )  # fmt: skip
    site_mailbox = models.EmailField(_("site mailbox"), blank=True)
    owner = models.CharField(_("owner"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    notify_emails = models.JSONField(_("notify on status change"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="one_integration_name")
        ]

    def __str__(self):
        return f"{self.tenant} · {self.name}"

    @property
    def lifecycle(self):
        return lifecycle.PRODUCTS[self.product]

    @property
    def is_sharepoint(self) -> bool:
        return self.lifecycle.family == "sharepoint"

    def feature_list(self) -> list[str]:
        return [f for f in Feature.values if f in (self.features or [])]


class FeatureStatus(models.Model):
    """The current status of one integration × feature: the matrix cell, and what a change
    is compared with (one email per change)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="states")
    feature = models.CharField(max_length=20, choices=Feature.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    step = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    hint = models.TextField(blank=True)
    # The translatable form of detail and hint (engine sentences keep template + arguments).
    texts = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField()
    since = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "feature"], name="one_state_per_feature")
        ]

    def __str__(self):
        return f"{self.integration} · {self.get_feature_display()}: {self.status}"


class CheckResult(models.Model):
    """One check of one feature: the timeline's history."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="checks")
    feature = models.CharField(max_length=20, choices=Feature.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    step = models.CharField(max_length=200, blank=True)
    detail = models.TextField(blank=True)
    hint = models.TextField(blank=True)
    texts = models.JSONField(default=dict, blank=True)
    steps = models.JSONField(default=list, blank=True)
    checked_at = models.DateTimeField(db_index=True)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["integration", "-checked_at"])]

    def __str__(self):
        return f"{self.integration} · {self.get_feature_display()}: {self.status}"


class TenantProfile(models.Model):
    """What the integrations pages know about a tenant beyond its connection settings: its
    plan (feature availability) and, for Exchange Server, its version."""

    class Source(models.TextChoices):
        ENTERED = "entered", _("entered")
        EWS = "ews", _("read from EWS ServerVersionInfo")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="profile")
    plan = models.CharField(
        _("plan"), max_length=30, blank=True, choices=[(p.key, p.label) for p in PLANS]
    )
    exchange_version = models.CharField(
        _("Exchange Server version"), max_length=20, blank=True,
        choices=[(k, lifecycle.PRODUCTS[k].label) for k in lifecycle.EXCHANGE_VERSIONS],
    )  # fmt: skip
    cumulative_update = models.CharField(_("cumulative update"), max_length=20, blank=True)
    build = models.CharField(_("build"), max_length=40, blank=True)
    version_source = models.CharField(max_length=10, choices=Source.choices, blank=True)
    version_recorded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.tenant} profile"
