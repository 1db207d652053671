from fastapi import APIRouter, status

from service.deps import ConversationsDep
from service.schemas import ConversationOut, ConversationTitle, ConversationWithMessages, NewConversation, errors

router = APIRouter(responses=errors(), tags=["conversations"])


@router.get("/conversations", response_model=list[ConversationOut])
def list_conversations(conversations: ConversationsDep):
    """Your conversations, the latest first. Ask in one with /chat's `conversation_id`."""
    return conversations.list()


@router.post("/conversations", status_code=status.HTTP_201_CREATED, response_model=ConversationOut,
             responses=errors(404))
def create_conversation(conversations: ConversationsDep, body: NewConversation):
    """A new conversation over a collection (404 if there is no such collection)."""
    return conversations.create(body.collection, body.title)


@router.get("/conversations/{conversation_id}", response_model=ConversationWithMessages, responses=errors(404))
def get_conversation(conversations: ConversationsDep, conversation_id: str):
    """The conversation with its questions and answers (their citations; `gone` for a document deleted since)."""
    return conversations.get(conversation_id)


@router.patch("/conversations/{conversation_id}", response_model=ConversationOut, responses=errors(404))
def rename_conversation(conversations: ConversationsDep, conversation_id: str, body: ConversationTitle):
    return conversations.rename(conversation_id, body.title)


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def delete_conversation(conversations: ConversationsDep, conversation_id: str) -> None:
    conversations.delete(conversation_id)
