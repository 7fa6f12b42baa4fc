"""What the session pages tell the patient, built from the plan's protocol."""

from __future__ import annotations

from dataclasses import dataclass

from katclinic.protocols.schema import Protocol

# Set and setting for dosing at home (Mathai DS et al., Front Psychol 2022;13:868103,
# https://doi.org/10.3389/fpsyg.2022.868103).
PREPARATION = (
    "Settle into a dim, quiet room where you can lie down, with your monitor nearby for the whole session.",
    "Bring to mind a lightly held intention for this session.",
    "An eye mask and instrumental music without lyrics help many people turn inward.",
    "Breathe slowly. If anything feels hard, tell your monitor; you agreed a plan for distress with the clinic.",
)


@dataclass(frozen=True)
class TimedPrompt:
    minute: int
    text: str


def timed_prompts(protocol: Protocol) -> list[TimedPrompt]:
    """Prompts shown as the session timer passes each of the protocol's checkpoints."""
    end = protocol.monitoring.min_observation_minutes.value
    prompts = [
        TimedPrompt(
            0, "Dose taken. Lie back, close your eyes if you like, and let your breathing slow."
        )
    ]
    # The in-clinic checkpoints mark when the effect changes; at home they become reminders.
    for minute in sorted(
        {p.minutes_after_start for p in protocol.monitoring.checkpoints} - {0, end}
    ):
        prompts.append(
            TimedPrompt(
                minute,
                f"{minute} minutes: stay lying down; tell your monitor if you feel unwell or frightened.",
            )
        )
    prompts.append(
        TimedPrompt(
            end,
            f"{end} minutes: the observation time of your plan has passed. Stay resting "
            "with your monitor until you feel steady, then do your post-session check-in.",
        )
    )
    return prompts


def integration_prompts(protocol: Protocol) -> list[str]:
    support = protocol.support
    lines = [
        "Write down what you noticed while it is fresh: images, feelings, thoughts about your intention."
    ]
    if support.integration_after_each_dose:
        lines.append(
            f"Your plan has an integration session between {support.integration_window_min_hours} and "
            f"{support.integration_window_max_hours} hours after each dose: book it if it is not booked yet."
        )
    if protocol.instructions.no_driving_until_after_sleep:
        lines.append("Do not drive until tomorrow, after you have slept.")
    return lines
