"""Conversation state: what is sent, undo/retry, trimming to the context, Markdown export."""

from __future__ import annotations

from atdak_cli.conversation import ChatMessage as Message
from atdak_cli.conversation import Conversation
from atdak_cli.text import code_blocks


def exchange(conversation: Conversation, question: str, answer: str) -> None:
    conversation.add_user(question)
    conversation.add_answer(answer)


def test_api_messages_put_the_system_prompt_first() -> None:
    conversation = Conversation(system="be brief")
    exchange(conversation, "hi", "hello")
    conversation.add_user("again")
    assert conversation.api_messages() == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]


def test_from_api_takes_the_stored_system_prompt_over_the_default() -> None:
    stored = [
        {"role": "system", "content": "stored"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a"},
    ]
    conversation = Conversation.from_api(stored, system="default")
    assert conversation.system == "stored"
    assert conversation.messages == [Message("user", "q"), Message("assistant", "a")]
    assert Conversation.from_api(stored[1:], system="default").system == "default"


def test_an_answer_that_never_began_is_not_added() -> None:
    conversation = Conversation()
    conversation.add_user("q")
    conversation.add_answer("", "error")
    assert conversation.messages == [Message("user", "q")]
    conversation.add_answer("half", "interrupted")
    assert conversation.messages[-1] == Message("assistant", "half", "interrupted")


def test_undo_drops_the_last_exchange_and_nothing_else() -> None:
    conversation = Conversation(system="s")
    exchange(conversation, "one", "1")
    exchange(conversation, "two", "2")
    assert conversation.undo()
    assert [m.content for m in conversation.messages] == ["one", "1"]
    assert conversation.undo()
    assert not conversation.undo()
    assert conversation.system == "s"


def test_undo_of_an_unanswered_question_drops_the_question() -> None:
    conversation = Conversation()
    exchange(conversation, "one", "1")
    conversation.add_user("failed")
    assert conversation.undo()
    assert [m.content for m in conversation.messages] == ["one", "1"]


def test_prepare_retry_keeps_the_question_and_drops_its_answer() -> None:
    conversation = Conversation()
    exchange(conversation, "one", "1")
    conversation.add_user("two")
    conversation.add_answer("partial", "interrupted")
    assert conversation.prepare_retry()
    assert [m.content for m in conversation.messages] == ["one", "1", "two"]
    assert conversation.prepare_retry()  # an unanswered question is ready as it is
    assert [m.content for m in conversation.messages] == ["one", "1", "two"]


def test_fit_drops_oldest_exchanges_but_never_system_or_last_question() -> None:
    conversation = Conversation(system="x" * 500)  # 100 tokens by the estimate
    for n in range(3):
        exchange(conversation, f"q{n}" + "y" * 498, f"a{n}" + "z" * 498)  # 100 + 100 each
    conversation.add_user("last" + "w" * 496)
    assert conversation.estimated_tokens() == 800
    assert conversation.fit(450) == 2
    assert conversation.system == "x" * 500
    assert [m.content[:2] for m in conversation.messages] == ["q2", "a2", "la"]
    assert conversation.fit(1) == 1
    assert [m.content[:2] for m in conversation.messages] == ["la"]
    assert conversation.fit(1) == 0  # the question alone: nothing more to drop


def test_fit_changes_nothing_when_the_context_fits() -> None:
    conversation = Conversation()
    exchange(conversation, "q", "a")
    conversation.measured_tokens = 42
    assert conversation.fit(1000) == 0
    assert len(conversation.messages) == 2
    assert conversation.measured_tokens == 42


def test_context_tokens_uses_the_server_count_until_something_is_removed() -> None:
    conversation = Conversation()
    exchange(conversation, "q", "a")
    conversation.measured_tokens = 42
    conversation.add_user("more")
    assert conversation.context_tokens() == 42
    conversation.undo()
    assert conversation.measured_tokens is None
    assert conversation.context_tokens() == conversation.estimated_tokens()


def test_to_markdown_marks_unfinished_answers() -> None:
    conversation = Conversation(system="be brief")
    exchange(conversation, "hi", "hello\n")
    conversation.add_user("more")
    conversation.add_answer("half", "interrupted")
    assert conversation.to_markdown(model="atdak-gpt-4") == (
        "# Conversation with atdak-gpt-4\n\n## System\n\nbe brief\n\n## User\n\nhi\n\n"
        "## Assistant\n\nhello\n\n## User\n\nmore\n\n## Assistant (interrupted)\n\nhalf\n"
    )


def test_code_blocks_finds_fenced_blocks() -> None:
    text = (
        "Intro\n\n```python\nprint(1)\n\nprint(2)\n```\n\nthen\n\n"
        "~~~~\n```\nnested fence\n~~~~\n\n  ```sh\n  ls\n  ```\n\n```\nunclosed"
    )
    expected = ["print(1)\n\nprint(2)\n", "```\nnested fence\n", "  ls\n", "unclosed\n"]
    assert code_blocks(text) == expected
    assert code_blocks("no code") == []
