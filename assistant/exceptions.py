"""Errors raised while answering."""

from core.errors import HelpdeskError


class AssistantError(HelpdeskError):
    """Base of all answering errors."""


class InvalidQuestion(AssistantError):
    """The question is empty, too long, or otherwise unusable."""

    exit_code = 2


class TicketError(AssistantError):
    """The ticket store failed."""


class TicketNotFound(TicketError):
    """No ticket with that id."""


class InvalidTransition(TicketError):
    """The ticket's status cannot move to the one asked for (e.g. closed -> resolved)."""

    exit_code = 2


class MailError(AssistantError):
    """Sending email failed (the ticket itself is already saved).

    `code` names the cause when the backend gives one (an SES error code such as `MessageRejected` or
    `TooManyRequestsException`, or a connection error's class name); it is also recorded in `email_status`.
    """

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class AnswererUnavailable(AssistantError):
    """The answering model could not be used for this question; the user gets a polite reply and a ticket.

    `operator_hint` is for the logs only (model id, region, the IAM action to grant); never shown to users.
    """

    def __init__(self, message: str, *, model_id: str = "", operator_hint: str = "") -> None:
        super().__init__(message)
        self.model_id = model_id
        self.operator_hint = operator_hint


class ModelThrottled(AnswererUnavailable):
    """Bedrock kept throttling (or was unavailable) for the whole retry budget."""


class ModelAccessDenied(AnswererUnavailable):
    """The caller may not invoke the model, or the model is not enabled in the region."""


class ModelNotAvailable(AnswererUnavailable):
    """The model or inference-profile id is unknown or cannot be invoked this way in the region."""


class RerankError(AssistantError):
    """The Bedrock rerank call failed (retrieval falls back to the fused order)."""


class KnowledgeBaseError(AssistantError):
    """Retrieving from the Bedrock Knowledge Base failed (HELPDESK_RETRIEVER=bedrock-kb).

    `code` is the service's error code (`AccessDeniedException`, `ResourceNotFoundException`, `ThrottlingException`
    once the retries ran out...) or a connection error's class name."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code
