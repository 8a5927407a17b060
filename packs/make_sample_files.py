"""Make the sample packs' binary files (one-page PDFs, a short WAV sound check).

The files are committed; run this again only after changing the text below:

    .venv/bin/python packs/make_sample_files.py

Output is small on purpose (each file well under 60 KB): the packs live in the repository.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

from weasyprint import HTML

PACKS = Path(__file__).resolve().parent

STYLE = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; line-height: 1.4;
       color: #1d2733; }
h1 { font-size: 17pt; margin: 0 0 2mm; color: #0b5560; }
p.lead { margin: 0 0 5mm; color: #455361; }
h2 { font-size: 12pt; margin: 5mm 0 1.5mm; color: #0b5560; }
ul, ol { margin: 0; padding-left: 6mm; }
li { margin: 0 0 1mm; }
table { border-collapse: collapse; width: 100%; margin-top: 2mm; }
th, td { border: 0.6pt solid #9aa7b4; padding: 1.6mm 2mm; text-align: left; vertical-align: top; }
th { background: #e6f1f2; }
td.box { width: 14mm; }
p.foot { margin-top: 6mm; font-size: 8.5pt; color: #5d6b78; }
"""


def pdf(path: Path, title: str, lead: str, body: str) -> None:
    html = (
        f"<html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}</style>"
        f"</head><body><h1>{title}</h1><p class='lead'>{lead}</p>{body}"
        "<p class='foot'>Flipside sample content for training purposes. Always follow your "
        "workplace's procedures and current national guidelines.</p></body></html>"
    )
    HTML(string=html).write_pdf(path)


def sound_check(path: Path, seconds: float = 2.5, rate: int = 8000) -> None:
    """Three rising beeps: enough to hear that a device's sound works, 8 kHz mono 8-bit."""
    frames = bytearray()
    for n in range(int(seconds * rate)):
        t = n / rate
        beep = int(t / (seconds / 3))  # 0, 1, 2
        within = t - beep * seconds / 3
        tone = (523.25, 659.25, 783.99)[min(beep, 2)]  # C5, E5, G5
        envelope = min(1.0, within * 40, (seconds / 3 - within) * 40) if within < 0.6 else 0.0
        sample = 0.45 * envelope * math.sin(2 * math.pi * tone * t)
        frames += struct.pack("B", int(128 + 127 * sample))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(bytes(frames))


def infection_control(files: Path) -> None:
    pdf(
        files / "standard-precautions.pdf",
        "Standard precautions at a glance",
        "Use these with every person, every time, whether or not you know of an infection.",
        """
        <h2>1. Hand hygiene</h2>
        <ul><li>Alcohol-based hand rub for 20 to 30 seconds when hands look clean.</li>
        <li>Soap and running water for 40 to 60 seconds when hands are visibly dirty, after
        the toilet, and after caring for someone with vomiting or diarrhoea.</li>
        <li>Nails short, no false nails, jewellery kept to a plain band.</li></ul>
        <h2>2. Personal protective equipment</h2>
        <ul><li>Gloves for contact with blood, body fluids, broken skin or mucous membranes.</li>
        <li>A gown or apron when clothing could be splashed.</li>
        <li>A mask and eye protection when splashes or sprays to the face are possible.</li>
        <li>Remove gloves first, then clean your hands. Never wear the same gloves between
        people.</li></ul>
        <h2>3. Respiratory hygiene</h2>
        <ul><li>Cover coughs and sneezes with a tissue or your elbow, bin the tissue, clean
        your hands.</li></ul>
        <h2>4. Sharps</h2>
        <ul><li>Never recap a used needle. The person who used the sharp disposes of it,
        straight away, into a sharps container at the point of use.</li></ul>
        <h2>5. Cleaning and waste</h2>
        <ul><li>Clean first, then disinfect when needed. Follow the product's contact
        time.</li>
        <li>Put waste in the right stream where it is made: general, clinical, sharps,
        recycling.</li></ul>
        """,
    )
    pdf(
        files / "hand-hygiene-audit.pdf",
        "Hand hygiene observation sheet",
        "Observe for 20 minutes. Record each moment you see, and whether hands were cleaned.",
        """
        <p>Area: ____________________ &nbsp; Date: ___________ &nbsp; Observer:
        ____________________</p>
        <table>
        <tr><th>Moment</th><th>Opportunities seen</th><th>Hands cleaned</th><th>Notes</th></tr>
        <tr><td>1. Before touching a person</td><td class='box'></td><td class='box'></td>
        <td></td></tr>
        <tr><td>2. Before a clean or aseptic procedure</td><td></td><td></td><td></td></tr>
        <tr><td>3. After a body fluid exposure risk</td><td></td><td></td><td></td></tr>
        <tr><td>4. After touching a person</td><td></td><td></td><td></td></tr>
        <tr><td>5. After touching a person's surroundings</td><td></td><td></td><td></td></tr>
        <tr><th>Total</th><td></td><td></td><td></td></tr>
        </table>
        <h2>Compliance</h2>
        <p>Hands cleaned &divide; opportunities seen &times; 100 = ______ %</p>
        <h2>After the observation</h2>
        <ul><li>Thank the team and share the result the same day.</li>
        <li>Name one thing that went well and one thing to change.</li>
        <li>Record the result where the workplace keeps its audit data.</li></ul>
        """,
    )
    sound_check(files / "sound-check.wav")


def first_aid(files: Path) -> None:
    pdf(
        files / "drsabcd-chart.pdf",
        "DRSABCD action plan",
        "Work through the steps in order. Call for help early: Triple Zero (000), or 112 from "
        "a mobile.",
        """
        <table>
        <tr><th>Step</th><th>What to do</th></tr>
        <tr><td><b>D</b>anger</td><td>Check for danger to you, bystanders and the casualty.
        Make the area safe before you go in.</td></tr>
        <tr><td><b>R</b>esponse</td><td>Talk and touch: "Can you hear me? Open your eyes.
        Squeeze my hand." No response means unconscious.</td></tr>
        <tr><td><b>S</b>end for help</td><td>Call 000 or send someone. Put the phone on
        speaker and stay with the casualty.</td></tr>
        <tr><td><b>A</b>irway</td><td>Open the mouth and look. If there is anything in it,
        roll the casualty onto their side and clear it. Tilt the head back, lift the
        chin.</td></tr>
        <tr><td><b>B</b>reathing</td><td>Look, listen and feel for up to 10 seconds. Normal
        breathing: recovery position, keep checking. Not normal: start CPR.</td></tr>
        <tr><td><b>C</b>PR</td><td>30 compressions on the lower half of the breastbone, one
        third of the chest's depth, 100 to 120 a minute, then 2 breaths. Keep going.</td></tr>
        <tr><td><b>D</b>efibrillation</td><td>Turn on an AED as soon as one arrives and follow
        its voice prompts. Keep CPR going while the pads go on.</td></tr>
        </table>
        <h2>Keep going until</h2>
        <ul><li>the casualty responds or starts breathing normally,</li>
        <li>a paramedic or doctor takes over, or</li>
        <li>you are physically unable to continue.</li></ul>
        """,
    )
    pdf(
        files / "incident-report-form.pdf",
        "First aid incident record",
        "Complete as soon as possible after the incident, while details are fresh. "
        "Keep this record confidential.",
        """
        <table>
        <tr><th style='width:40%'>Date and time of the incident</th><td></td></tr>
        <tr><th>Where it happened</th><td></td></tr>
        <tr><th>Casualty's name and contact</th><td></td></tr>
        <tr><th>What happened (in the casualty's and witnesses' words)</th><td><br><br></td></tr>
        <tr><th>What you found: injuries, signs and symptoms</th><td><br><br></td></tr>
        <tr><th>First aid given, with times</th><td><br><br></td></tr>
        <tr><th>Changes you saw while you cared for them</th><td><br></td></tr>
        <tr><th>Handed over to (name, service) and when</th><td></td></tr>
        <tr><th>First aider's name and signature</th><td></td></tr>
        </table>
        <h2>Next steps</h2>
        <ul><li>Give the record to your supervisor or the person who manages incident
        reports.</li>
        <li>Restock the first aid kit and replace any used AED pads.</li>
        <li>Ask for a debrief if the incident is on your mind.</li></ul>
        """,
    )
    sound_check(files / "sound-check.wav")


def main() -> None:
    for name, make in [("infection-control", infection_control), ("first-aid", first_aid)]:
        files = PACKS / name / "files"
        files.mkdir(parents=True, exist_ok=True)
        make(files)
        for path in sorted(files.iterdir()):
            print(f"{path.relative_to(PACKS)}: {path.stat().st_size / 1024:.1f} KB")


if __name__ == "__main__":
    main()
