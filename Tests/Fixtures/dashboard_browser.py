"""Drives the dashboard of a running `nightshift serve` in a real headless Chromium (Playwright
for Python, Debian's /usr/bin/chromium: no browser download), as a person would, and checks what
it sees. Run by Tests/EndToEndTests/DashboardBrowserTests.swift with the agents of
dashboard_agent.sh (talker, sleeper, echo) and a claude_code agent `subagent` replaying a real
session.

    python dashboard_browser.py URL TOKEN ARTIFACTS_DIR

It signs in (a wrong token first), watches a running task's events arrive live, sees a new task
appear in the list live, answers the task's question, cancels a task, checks that a prompt and
agent output holding <script>alert(1)</script> are shown as text, takes a screenshot of every
page into ARTIFACTS_DIR, validates every page's HTML (html5lib, strict) and fails on any console
error. Waits are conditions with deadlines, never sleeps. Prints a JSON report; exits 1 with the
failures on stderr when a check fails.
"""

import json
import os
import sys
import tempfile
import time
import urllib.request

import html5lib
from playwright.sync_api import sync_playwright, expect

BASE, TOKEN, ARTIFACTS = sys.argv[1], sys.argv[2], sys.argv[3]
CHROMIUM = os.environ.get("NIGHTSHIFT_TEST_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 20_000
failures = []
report = {"pages": [], "screenshots": [], "console_errors": [], "dialogs": []}


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def api(method, path, body=None):
    """One call of the JSON API with the bearer token."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(BASE + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def submit(agent, prompt):
    return api("POST", "/v1/tasks", {"agent": agent, "prompt": prompt, "max_attempts": 1})["id"]


def wait_for_state(task_id, states, timeout=30):
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = api("GET", "/v1/tasks/" + task_id)["state"]
        if state in states:
            return state
        # A short pause between polls of the API: the condition is the task's state.
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not reach {states} within {timeout}s (it is {state})")


def validate_html(name, path):
    """Fetches the page as the server sends it (bearer) and parses it strictly."""
    request = urllib.request.Request(BASE + path)
    request.add_header("Authorization", "Bearer " + TOKEN)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode("utf-8")
        content_type = response.headers.get("Content-Type", "")
    check(content_type.startswith("text/html"), f"{name}: content type {content_type}")
    try:
        html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)
        report["pages"].append({"page": name, "valid": True})
    except Exception as error:  # html5lib raises ParseError with the position
        failures.append(f"{name} ({path}) is not valid HTML: {error}")
        report["pages"].append({"page": name, "valid": False, "error": str(error)})


def shot(page, name):
    path = os.path.join(ARTIFACTS, name + ".png")
    page.screenshot(path=path, full_page=True)
    report["screenshots"].append(path)


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    gate_dir = tempfile.mkdtemp(prefix="ns-dashboard-gate-")
    gate = os.path.join(gate_dir, "gate")
    os.mkfifo(gate)

    # Tasks that exist before the browser looks: a finished session with a subagent, a prompt
    # and agent output holding a script tag, a task that works until it is cancelled.
    session = submit("subagent", "Review the invoices module with a subagent")
    hostile = submit("echo", "<script>alert(1)</script> please")
    sleeper = submit("sleeper", "Work until cancelled")
    wait_for_state(session, {"done", "error"})
    wait_for_state(hostile, {"done"})
    wait_for_state(sleeper, {"running"})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and report["console_errors"].append(message.text))
        page.on("pageerror", lambda error: report["console_errors"].append(str(error)))

        def on_dialog(dialog):
            report["dialogs"].append({"type": dialog.type, "message": dialog.message})
            dialog.accept()

        page.on("dialog", on_dialog)

        # Signing in: no cookie goes to the login page; a wrong token is refused without detail;
        # the right one lands on the task list with an HttpOnly, SameSite=Strict cookie.
        page.goto(BASE + "/")
        check(page.url.startswith(BASE + "/login"), f"without a cookie / went to {page.url}")
        shot(page, "login")
        page.fill("#token", "ns_wrong")
        page.click("button[type=submit]")
        expect(page.locator(".notice")).to_have_text("That token was not accepted.")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_url(BASE + "/")
        cookies = [c for c in context.cookies() if c["name"] == "nightshift_token"]
        check(len(cookies) == 1 and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict",
              f"session cookie: {cookies}")
        report["cookie"] = {k: cookies[0][k] for k in ("httpOnly", "sameSite", "secure", "path")} if cookies else None

        # The list, and a task submitted now appearing in it without a reload.
        page.evaluate("window.__loaded = 'list'")
        expect(page.locator("#live-dot.on")).to_be_visible()
        expect(page.locator(f"#row-{session}")).to_be_visible()
        fresh = submit("echo", "appears live in the list")
        expect(page.locator(f"#row-{fresh}")).to_be_visible()
        check(page.evaluate("window.__loaded") == "list", "the list reloaded instead of updating live")
        report["list_live"] = True
        # The hostile prompt is text in the list, not markup.
        check(page.locator("td.prompt script").count() == 0, "a script element in the list")
        expect(page.locator(f"#row-{hostile} td.prompt a")).to_contain_text("<script>alert(1)</script>")
        shot(page, "tasks")

        # The filters: state and text.
        page.goto(BASE + "/?state=running")
        expect(page.locator(f"#row-{sleeper}")).to_be_visible()
        check(page.locator(f"#row-{session}").count() == 0, "state=running lists a done task")
        page.goto(BASE + "/?q=appears+live")
        expect(page.locator(f"#row-{fresh}")).to_be_visible()
        check(page.locator("#task-list tbody tr").count() == 1, "the text filter kept other tasks")

        # The recorded session as a conversation: Markdown, tool calls, the subagent nested.
        page.goto(BASE + "/tasks/" + session)
        check(page.locator(".msg.assistant").count() > 0, "no assistant message in the session")
        check(page.locator("details.tool").count() > 0, "no tool call in the session")
        check(page.locator("details.tool .sub details.tool, details.tool .sub .msg.assistant").count() > 0,
              "the subagent's events are not nested in its tool call")
        page.locator("details.tool > summary").first.click()
        shot(page, "task-session")

        # Agent output and prompt holding a script tag are text.
        page.goto(BASE + "/tasks/" + hostile)
        check(page.locator("main script").count() == 0, "a script element in the task page")
        expect(page.locator("#conversation")).to_contain_text("<script>alert(1)</script> please")
        expect(page.locator("h1")).to_contain_text("<script>alert(1)</script>")
        scripts = page.evaluate("Array.from(document.scripts).map(s => s.src)")
        check(scripts == [BASE + "/assets/dashboard.js"], f"scripts on the page: {scripts}")

        # A running task's events arrive live: the page is open while the agent, released by the
        # gate, prints more and then asks.
        talker = submit("talker", f"gate: {gate}\nTalk to me, then ask which branch.")
        wait_for_state(talker, {"running"})
        page.goto(BASE + "/tasks/" + talker)
        expect(page.locator("#conversation")).to_contain_text("first line: waiting for the gate")
        page.evaluate("window.__loaded = 'talker'")
        expect(page.locator("#live-dot.on")).to_be_visible()
        with open(gate, "w") as released:
            released.write("go\n")
        expect(page.locator("#conversation")).to_contain_text("<script>alert(1)</script> said the agent")
        check(page.locator("#conversation script").count() == 0, "agent output became a script element")
        # The question arrives with the panels the page reloads on the state change.
        expect(page.locator(".answer-form textarea")).to_be_visible()
        check(page.evaluate("window.__loaded") == "talker", "the task page reloaded instead of updating live")
        report["task_live"] = True
        expect(page.locator("#inbox")).to_contain_text("Which branch should I use?")
        shot(page, "task-waiting")

        # Needs you lists it, newest first, with the question.
        page.goto(BASE + "/needs-you")
        expect(page.locator(f"#wait-{talker}")).to_contain_text("Which branch should I use?")
        shot(page, "needs-you")

        # Answering: the agent gets the answer and finishes with it.
        page.goto(BASE + "/tasks/" + talker)
        page.fill(".answer-form textarea", "dev-branch")
        page.click(".answer-form button[type=submit]")
        page.wait_for_url(BASE + "/tasks/" + talker)
        check(wait_for_state(talker, {"done", "error"}) == "done", "the answered task did not finish")
        check(api("GET", "/v1/tasks/" + talker).get("result") == "answered: dev-branch", "the agent did not get the answer")
        page.reload()
        expect(page.locator("#summary")).to_contain_text("answered: dev-branch")
        report["answered"] = True

        # Cancelling from the task's page (the button asks first).
        page.goto(BASE + "/tasks/" + sleeper)
        page.click("form[action$='/cancel'] button")
        page.wait_for_url(BASE + "/tasks/" + sleeper)
        check(wait_for_state(sleeper, {"cancelled"}) == "cancelled", "the task was not cancelled")
        expect(page.locator("#summary .badge").first).to_have_text("cancelled")
        report["cancelled"] = True
        shot(page, "task-cancelled")

        page.goto(BASE + "/agents")
        expect(page.locator("#agent-talker")).to_be_visible()
        check(page.locator("svg.chart").count() > 0, "no cost chart")
        shot(page, "agents")

        # A phone's width: the list still reads.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(BASE + "/")
        shot(page, "tasks-phone")
        page.emulate_media(color_scheme="dark")
        shot(page, "tasks-phone-dark")

        # A wrong cookie: back to the login page, with no detail.
        context.clear_cookies()
        context.add_cookies([{"name": "nightshift_token", "value": "ns_expired", "url": BASE}])
        page.goto(BASE + "/tasks/" + session)
        check(page.url.startswith(BASE + "/login"), f"a wrong cookie went to {page.url}")
        check(page.locator(".notice").count() == 0, "the login page after a wrong cookie says why")

        browser.close()

    for name, path in [("login", "/login"), ("tasks", "/"), ("tasks-filtered", "/?state=done&q=a"),
                       ("task-session", "/tasks/" + session), ("task-hostile", "/tasks/" + hostile),
                       ("task-answered", "/tasks/" + talker), ("needs-you", "/needs-you"), ("agents", "/agents")]:
        validate_html(name, path)

    check(not report["console_errors"], f"console errors: {report['console_errors']}")
    alerts = [d for d in report["dialogs"] if d["type"] == "alert"]
    check(not alerts, f"an alert ran: {alerts}")
    report["failures"] = failures
    print(json.dumps(report))
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # a Playwright timeout, a failed API call: report it whole
        failures.append(f"{type(error).__name__}: {error}")
        report["failures"] = failures
        print(json.dumps(report))
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
