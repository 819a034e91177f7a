"""Deterministic generator of the labelled SMS reply set shipped in replies/fixtures/.

``python -m replies.fixtures_gen`` rewrites replies/fixtures/sms_replies.csv (text,label). The
same seed always gives the same file. The texts mimic real replies to campaign texts: typos,
elongations, emoji, mixed case, several languages' "stop", gateway and phone auto-replies, thanks
in many forms and everyday questions, with hard cases on purpose ("no thanks", "thanks but stop",
"stop by the shop?").
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "fixtures" / "sms_replies.csv"
SEED = 20261123
SIZES = {"thanks": 1900, "misc": 1500, "end": 1100, "bot": 700}

NAMES = ["Sam", "Jo", "Priya", "Tomasz", "Aisha", "Liam", "Chloé", "Kwame", "Mei", "Raj", "Sophie", "Ali"]
EMOJI_POS = ["🙂", "😊", "👍", "🙏", "❤️", "😀", "👌", "✨", "🎉", "x", "xx", ":)", ":-)", "!!"]
EMOJI_NEG = ["😡", "🙄", "😤", "👎", "!!!", "...", "🛑", "✋"]

THANKS = [
    "thanks",
    "thank you",
    "thanks a lot",
    "many thanks",
    "thank u",
    "thx",
    "ty",
    "tnx",
    "cheers",
    "cheers mate",
    "ta",
    "ta very much",
    "brilliant thanks",
    "great thank you",
    "lovely, thanks",
    "thanks for letting me know",
    "thank you for the reminder",
    "got it thanks",
    "ok thanks",
    "okay thank you",
    "received, thanks",
    "perfect thanks",
    "noted with thanks",
    "thanks so much",
    "thank you very much",
    "appreciated",
    "much appreciated",
    "thanks {name}",
    "thank you {name}",
    "thanks, see you then",
    "great, see you there",
    "will do, thanks",
    "thanks for the info",
    "awesome thanks",
    "nice one cheers",
    "thanks, that's really helpful",
    "thank you kindly",
    "fab thanks",
    "super, thanks",
    "ok great",
    "wonderful thank you",
    "thanks again",
    "merci",
    "merci beaucoup",
    "danke",
    "danke schön",
    "gracias",
    "muchas gracias",
    "grazie",
    "grazie mille",
    "obrigado",
    "obrigada",
    "dziękuję",
    "dzięki",
    "tack",
    "tack så mycket",
    "dank je",
    "bedankt",
    "takk",
    "kiitos",
    "شكرا",
    "धन्यवाद",
    "asante",
    "salamat",
    "thanks will be there",
    "ok, thanks for the heads up",
    "Thanks! Looking forward to it",
    "thank you, I'll come",
    "yes thanks",
    "yes please, thank you",
    "sounds good thanks",
    "thanks, got your message",
    "thanks, confirmed",
    "confirmed thanks",
    "👍",
    "🙏",
    "👍👍",
    "thnaks",
    "thansk",
    "thankyou",
    "thanx",
    "thenks",
    "tahnk you",
    "thank yoi",
    "thamks",
]

END = [
    "stop",
    "STOP",
    "Stop.",
    "stop!",
    "STOP!!",
    "stopp",
    "stop pls",
    "stop please",
    "please stop",
    "unsubscribe",
    "unsub",
    "unsubscribe me",
    "cancel",
    "end",
    "quit",
    "opt out",
    "opt-out",
    "optout",
    "remove",
    "remove me",
    "remove me from your list",
    "please remove my number",
    "take me off your list",
    "take me off this list",
    "delete my number",
    "don't text me again",
    "dont text me",
    "do not text me",
    "stop texting me",
    "stop sending me messages",
    "stop messaging me",
    "no more texts please",
    "no more messages",
    "leave me alone",
    "not interested",
    "no thanks, not interested",
    "no thank you",
    "no thanks",
    "wrong number, stop",
    "who is this? stop",
    "I never signed up for this, remove me",
    "how did you get my number? remove it",
    "stop spamming me",
    "this is spam",
    "spam, stop",
    "I don't want these texts",
    "I do not want to receive these",
    "please unsubscribe me",
    "can you take me off your mailing list",
    "not interested, please stop contacting me",
    "thanks but please stop texting",
    "thanks but no thanks",
    "STOP ALL",
    "stopall",
    "end all",
    "revoke",
    "revoke consent",
    "I withdraw my consent",
    "GDPR: delete my data and stop contacting me",
    "arrêt",
    "arret",
    "stop svp",
    "désabonner",
    "désinscrire",
    "ne plus m'envoyer de sms",
    "stopp",
    "bitte aufhören",
    "abmelden",
    "keine sms mehr",
    "basta",
    "basta messaggi",
    "cancellami",
    "non scrivermi più",
    "baja",
    "dar de baja",
    "darme de baja",
    "no más mensajes",
    "parar",
    "pare",
    "cancelar",
    "sair",
    "não quero mais mensagens",
    "wypisz",
    "nie pisz więcej",
    "rezygnuję",
    "stoppa",
    "avsluta",
    "afmelden",
    "uitschrijven",
    "stop sms",
    "annuler",
    "sotp",
    "stpo",
    "stoop",
    "unsubscibe",
    "unsubcribe",
    "remvoe me",
    "plz stop",
    "pls remove",
    "STOP STOP STOP",
    "stop it",
    "enough, stop",
    "just stop",
    "f off",
    "go away",
    "piss off",
    "bugger off and stop texting",
    "I've asked you to stop before",
    "stop or I'll report you",
]

BOT = [
    "This number is no longer in service.",
    "Auto-reply: I am out of the office until {date} with limited access to my phone.",
    "I'm driving right now - I'll get back to you later. (Sent automatically)",
    "I'm driving with Do Not Disturb While Driving turned on. I'll see your message when I get where I'm going.",
    "Sorry, I can't talk right now.",
    "This is an automated message. Replies to this number are not monitored.",
    "Your message could not be delivered. Please do not reply to this message.",
    "Thank you for your message. This inbox is not monitored. For help call {phone}.",
    "Auto reply: I'm on holiday until {date}. For urgent matters contact {name} on {phone}.",
    "The mailbox you are trying to reach is full.",
    "Message from {carrier}: your balance is low. Top up now to keep texting.",
    "{carrier}: You have used 80% of your data allowance.",
    "Your verification code is {code}. Do not share it with anyone.",
    "Your {carrier} bill of £{amount} is ready. Reply HELP for help.",
    "Delivery failed: recipient handset not reachable.",
    "Automatic reply: I no longer use this number. Please update your contacts.",
    "Hi, I'm currently unavailable. I will reply as soon as possible. [auto-reply]",
    "AUTO-REPLY: Thanks for your text! We'll get back to you within 24 hours.",
    "Thank you for contacting {company}. Our office hours are 9-5 Mon-Fri. [automated]",
    "This is an automated response. I am away until {date}.",
    "Ich bin bis zum {date} nicht erreichbar. (Automatische Antwort)",
    "Je suis absent jusqu'au {date}. Réponse automatique.",
    "Respuesta automática: estoy de vacaciones hasta el {date}.",
    "Risposta automatica: sono fuori ufficio fino al {date}.",
    "Your parcel {code} will be delivered today between {hour}:00 and {hour2}:00.",
    "{company}: Your appointment on {date} is confirmed. Reply C to cancel.",
    "Free msg: Your number has been ported to {carrier}.",
    "Message not delivered: the number {phone} is not valid.",
    "{carrier} voicemail: you have 1 new message. Call 121 to listen.",
    "Reply from {company} bot: Sorry, I didn't understand that. Type MENU for options.",
    "I'm busy right now. Sent from my car.",
    "Do not reply. This SMS was sent from an unattended mailbox.",
]

MISC = [
    "what time does it start?",
    "where is it?",
    "what's the address?",
    "can I bring a friend?",
    "is there parking?",
    "how much is it?",
    "who is this?",
    "who's this",
    "which {thing}?",
    "can I change my appointment to {day}?",
    "I can't make it on {day}, can I come {day2}?",
    "running 10 mins late",
    "on my way",
    "be there at {hour}",
    "can you call me?",
    "call me back pls",
    "ok",
    "ok see you",
    "yes",
    "yes please",
    "no",
    "maybe",
    "not sure yet",
    "I'll let you know",
    "what is this about?",
    "sorry who is this again?",
    "is it still on?",
    "is it cancelled?",
    "can I pay by card?",
    "do I need to bring anything?",
    "is the shop open on {day}?",
    "stop by the shop tomorrow?",
    "will you stop by later?",
    "can't stop thinking about the offer, how do I sign up?",
    "don't stop the reminders, they help",
    "what's the end time?",
    "when does the sale end?",
    "my wife will come instead",
    "I have moved, new address is {num} High Street",
    "wrong number",
    "I think you have the wrong person",
    "this is {name}'s phone, he's away",
    "{name} passed away last month",
    "can you send the details by email?",
    "what's the link?",
    "the link doesn't work",
    "how do I book?",
    "is it free?",
    "are kids allowed?",
    "is there wheelchair access?",
    "can I get a refund?",
    "I already paid",
    "I didn't receive my order",
    "my order number is {code}",
    "when will my parcel arrive?",
    "hello?",
    "hi",
    "hey {name}",
    "?",
    "??",
    "huh?",
    "what?",
    "sorry I don't understand",
    "pardon?",
    "help me please, how do I log in?",
    "où est-ce?",
    "à quelle heure?",
    "wann fängt es an?",
    "wo ist das?",
    "¿a qué hora empieza?",
    "¿dónde es?",
    "a che ora?",
    "dove si trova?",
    "o której?",
    "gdzie to jest?",
    "quanto custa?",
    "Can I reschedule?",
    "I'll be late, sorry",
    "see you {day}",
    "I might come {day}",
    "can I come at {hour} instead?",
    "How long will it take?",
    "lol",
    "haha ok",
    "omg yes",
    "sounds interesting, tell me more",
    "send me more info",
    "I'm interested",
    "count me in",
    "sign me up",
    "yes I'd like to join",
    "can my friend sign up too?",
    "Is this a scam?",
    "is this legit?",
    "how did you get my number?",
    "what company is this?",
]

LANG_STOP_STANDALONE = {"arrêt", "arret", "stopp", "basta", "baja", "parar", "wypisz", "stoppa", "annuler", "sair"}
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "tomorrow", "next week"]
CARRIERS = ["Vodafone", "EE", "O2", "Three", "giffgaff", "Orange", "T-Mobile", "Lebara"]
COMPANIES = ["Acme Dental", "City Council", "HappyPets", "Northside GP", "QuickFix Ltd", "Bloom Florist"]
THINGS = ["event", "appointment", "shop", "class", "meeting", "offer"]


def _fill(rng: random.Random, text: str) -> str:
    return text.format(
        name=rng.choice(NAMES),
        date=f"{rng.randint(1, 28)}/{rng.randint(1, 12)}",
        phone=f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}",
        carrier=rng.choice(CARRIERS),
        company=rng.choice(COMPANIES),
        code=rng.randint(100000, 999999),
        amount=f"{rng.randint(5, 80)}.{rng.randint(0, 99):02d}",
        hour=rng.randint(8, 17),
        hour2=rng.randint(18, 21),
        day=rng.choice(DAYS),
        day2=rng.choice(DAYS),
        thing=rng.choice(THINGS),
        num=rng.randint(1, 200),
    )


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.3:
        return text[:i] + text[i + 1 :]  # dropped letter
    if kind < 0.6:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]  # swapped letters
    if kind < 0.8:
        return text[:i] + text[i] + text[i:]  # doubled letter
    return text[:i] + rng.choice("qwertyuiopasdfghjklzxcvbnm") + text[i + 1 :]  # fat finger


def _case(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.15:
        return text.upper()
    if r < 0.35:
        return text.capitalize()
    if r < 0.45:
        return text.lower()
    if r < 0.5:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in text)  # sTuDLy
    return text


def vary(rng: random.Random, label: str, text: str) -> str:
    text = _fill(rng, text)
    if label != "bot":  # robots do not make typos or shout
        if rng.random() < 0.18:
            text = _typo(rng, text)
        text = _case(rng, text)
        if rng.random() < 0.1 and text and text[-1].isalpha():
            text = text + text[-1] * rng.randint(1, 3)  # "thanksss", "stoppp"
        r = rng.random()
        if r < 0.2:
            text = f"{text} {rng.choice(EMOJI_NEG if label == 'end' else EMOJI_POS)}"
        elif r < 0.3:
            text = text + rng.choice([".", "!", "!!", " .", "?"] if label != "misc" else ["", " ", "?"])
        if rng.random() < 0.08:
            text = f"{rng.choice(['Hi', 'Hello', 'Hey', 'hiya'])} {text}"
        if label == "thanks" and rng.random() < 0.08:
            text = f"{text} {rng.choice(NAMES)}"
    elif rng.random() < 0.2:
        text = f"[{rng.choice(CARRIERS)}] {text}"
    return text.strip()


def generate(seed: int = SEED) -> list[tuple[str, str, str]]:
    """(text, label, phrase) rows; ``phrase`` names the source phrase, so a grouped
    cross-validation can hold out whole phrasings (no variant of a test phrase in training)."""
    rng = random.Random(seed)
    pools = {"thanks": THANKS, "misc": MISC, "end": END, "bot": BOT}
    rows = []
    for label, size in SIZES.items():
        for _ in range(size):
            index = rng.randrange(len(pools[label]))
            rows.append((vary(rng, label, pools[label][index]), label, f"{label}-{index}"))
    rng.shuffle(rows)
    return rows


def main() -> None:
    rows = generate()
    OUT.parent.mkdir(exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "phrase"])
        writer.writerows(rows)
    print(f"Wrote {len(rows)} texts to {OUT}")


def load_rows(path: Path = OUT) -> list[tuple[str, str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["text"], row["label"], row["phrase"]) for row in csv.DictReader(handle)]


if __name__ == "__main__":
    main()
