"""Messaging settings: the reply time patients are told, attachment size, and crisis words."""

from decimal import Decimal

from katclinic.clinics.registry import define_bool, define_int, define_text

GROUP = "Messages with patients"

# Phrases worded after the questions of three published suicide-risk screens, turned into
# what a person might write about themselves. None of the screens is a word list; this is
# a prompt for a clinician to read the message, not monitoring and not a risk score.
DEFAULT_CRISIS_PHRASES = [
    "kill myself",
    "killing myself",
    "end my life",
    "take my own life",
    "suicide",
    "suicidal",
    "wish I were dead",
    "wish I was dead",
    "want to die",
    "better off dead",
    "better off if I were dead",
    "go to sleep and not wake up",
    "hurt myself",
    "hurting myself",
    "harm myself",
    "self-harm",
    "self harm",
    "overdose",
    "no reason to live",
]
CRISIS_SOURCE = (
    "The project's own selection of phrases, not a published word list, worded after the "
    "questions of the Ask Suicide-Screening Questions (ASQ; Horowitz LM et al., Arch Pediatr "
    "Adolesc Med 2012;166:1170-1176, https://doi.org/10.1001/archpediatrics.2012.1276; NIMH ASQ "
    "toolkit, https://www.nimh.nih.gov/research/research-conducted-at-nimh/asq-toolkit-materials), "
    "the Columbia Suicide Severity Rating Scale screen (Posner K et al., Am J Psychiatry "
    "2011;168:1266-1277, https://doi.org/10.1176/appi.ajp.2011.10111704) and PHQ-9 item 9 "
    "(Kroenke K et al., J Gen Intern Med 2001;16:606-613, "
    "https://doi.org/10.1046/j.1525-1497.2001.016009606.x); 'overdose' and 'self-harm' are the "
    "project's additions. These screens are questions asked of a patient, not word lists: a "
    "match only asks a clinician to read the message now; a message without one may still "
    "describe a crisis."
)

REPLY_TIME = define_text(
    key="messaging_reply_time",
    label="How soon patients are told to expect a reply",
    default="within 2 business days",
    source="Clinic policy: the reply time the clinic commits to and states on every message form.",
    group=GROUP,
)
ATTACHMENT_MAX_MB = define_int(
    key="messaging_attachment_max_mb",
    label="Largest attachment a message may carry",
    default=10,
    unit="MB",
    source=(
        "Clinic policy, not a clinical threshold: 10 MB holds a scanned letter of several "
        "pages or a phone photo."
    ),
    minimum=Decimal(1),
    maximum=Decimal(25),
    group=GROUP,
)
TEXT_NOTIFICATIONS = define_bool(
    key="messaging_text_notifications",
    label="Also tell patients of a new message by text message",
    default=False,
    source=(
        "Clinic policy: the text says only that a message is waiting, with a link; patients "
        "without an email address on record are always told by text."
    ),
    group=GROUP,
)
CRISIS_PHRASES = define_text(
    key="messaging_crisis_phrases",
    label="Words in a patient's message that raise a safety alert (separated by commas)",
    default=", ".join(DEFAULT_CRISIS_PHRASES),
    source=CRISIS_SOURCE,
    verified=False,
    group=GROUP,
)
