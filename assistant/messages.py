"""Every sentence the assistant says to users, in one place (CLI and Slack)."""

TICKET_OPENED = (
    "I couldn't find a confident answer to this in the IT knowledge base, so I've opened ticket {ticket_id} "
    "for the IT team. They'll follow up with you."
)
TICKET_NOT_OPENED = "I couldn't find a confident answer to this in the IT knowledge base."
TICKET_OPENED_ON_REQUEST = "I've opened ticket {ticket_id} for the IT team. They'll follow up with you."
EMPTY_QUESTION = "The question is empty: ask me something about IT, e.g. “how do I reset my MFA?”"
QUESTION_TOO_LONG = "The question is {length:,} characters long; the limit is {limit:,}. Please shorten it."
TROUBLE_ANSWERING = (
    "I'm having trouble answering right now, so I've passed your question to the IT team as ticket {ticket_id}."
)

# Ticket confirmation email to the requester (issue 6). {name}, {ticket_id} are filled in; the rest is escaped.
CONFIRMATION_SUBJECT = "Your IT ticket: {question}"
CONFIRMATION_GREETING = "Hi {name},"
CONFIRMATION_BODY = (
    "Your question has been passed to the IT team as ticket {ticket_id}. They'll follow up with you; "
    "reply to this email to add details."
)
CONFIRMATION_QUESTION = "Your question:"
CONFIRMATION_THREAD = "Slack thread:"
TROUBLE_ANSWERING_NO_TICKET = "I'm having trouble answering right now. Please try again in a few minutes."
ANSWER_SHORTENED = "(answer shortened)"
