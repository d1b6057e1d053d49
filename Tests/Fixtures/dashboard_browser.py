"""Drives the dashboard of a running `nightshift serve` in a real headless Chromium (Playwright
for Python, Debian's /usr/bin/chromium: no browser download), as a person would, and checks what
it sees. Run by Tests/EndToEndTests/DashboardBrowserTests.swift with the agents of
dashboard_agent.sh (talker, sleeper, echo) and a claude_code agent `subagent` replaying a real
session.

    python dashboard_browser.py URL TOKEN ARTIFACTS_DIR

It signs in (a wrong token first), watches a running task's events arrive live, sees a new task
appear in the list live, answers the task's question, approves one task and rejects another on
/needs-you, cancels a task, checks that a prompt and agent output holding
<script>alert(1)</script> are shown as text, takes a screenshot of every page into ARTIFACTS_DIR,
validates every page's HTML (html5lib, strict; /needs-you and the task pages also while their
answer and approval forms are shown) and fails on any console error. Then, each in a browser
context of its own that signs in through the login form:

- dark mode (`prefers-color-scheme: dark`): every page's background is dark, every text has a
  contrast of at least 4.5 with what is behind it (as in light mode), no box stays light;
- a phone (390x844, touch, 3x): no page scrolls sideways, the filters and the task links are
  within the screen;
- no JavaScript: the list, a task's conversation, /needs-you and /agents are drawn by the
  server; answering a question and cancelling a task work as plain forms.

Waits are conditions with deadlines, never sleeps. Prints a JSON report; exits 1 with the
failures on stderr when a check fails.
"""

import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request

import html5lib
from playwright.sync_api import sync_playwright, expect

BASE, TOKEN, ARTIFACTS = sys.argv[1], sys.argv[2], sys.argv[3]
CHROMIUM = os.environ.get("NIGHTSHIFT_TEST_CHROMIUM", "/usr/bin/chromium")
TIMEOUT_MS = 20_000
# The least contrast of text with what is behind it (WCAG 2 AA for body text).
MIN_CONTRAST = 4.5
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
failures = []
report = {"pages": [], "screenshots": [], "console_errors": [], "dialogs": [], "schemes": [], "phone": {"pages": []}}


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
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path}: {error.code} {error.read().decode(errors='replace')}") from None


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


def parse_html(name, path, text):
    """Parses a page strictly (html5lib raises ParseError with the position) into the report."""
    try:
        html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)
        report["pages"].append({"page": name, "valid": True})
    except Exception as error:
        failures.append(f"{name} ({path}) is not valid HTML: {error}")
        report["pages"].append({"page": name, "valid": False, "error": str(error)})


def validate_html(name, path):
    """Fetches the page as the server sends it (bearer) and parses it strictly."""
    request = urllib.request.Request(BASE + path)
    request.add_header("Authorization", "Bearer " + TOKEN)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode("utf-8")
        content_type = response.headers.get("Content-Type", "")
    check(content_type.startswith("text/html"), f"{name}: content type {content_type}")
    parse_html(name, path, text)


def shot(page, name):
    path = os.path.join(ARTIFACTS, name + ".png")
    page.screenshot(path=path, full_page=True)
    report["screenshots"].append(path)


def validate_session(page, name, path):
    """Fetches the page with the browser context's session cookie (so its forms carry the CSRF
    field, as a person's browser gets them) and parses it strictly."""
    response = page.request.get(BASE + path)
    check(response.ok, f"{name} ({path}): status {response.status}")
    text = response.text()
    content_type = response.headers.get("content-type", "")
    check(content_type.startswith("text/html"), f"{name}: content type {content_type}")
    parse_html(name, path, text)
    return text


def new_page(browser, **options):
    """A page in a browser context of its own (`options` as Playwright's new_context takes them),
    reporting its console errors, page errors and dialogs (a confirm is accepted)."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and report["console_errors"].append(message.text))
    page.on("pageerror", lambda error: report["console_errors"].append(str(error)))

    def on_dialog(dialog):
        report["dialogs"].append({"type": dialog.type, "message": dialog.message})
        dialog.accept()

    page.on("dialog", on_dialog)
    return page


def sign_in(page):
    """Signs in through the login form, as a person does."""
    page.goto(BASE + "/")
    check(page.url.startswith(BASE + "/login"), f"without a cookie / went to {page.url}")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(BASE + "/")


def luminance(css):
    """The relative luminance (WCAG 2) of a computed colour `rgb(r, g, b)` or `rgba(r, g, b, a)`."""
    channels = [float(x) for x in re.findall(r"[\d.]+", css)[:3]]
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a, b):
    """The WCAG contrast ratio of two computed colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# What the colour check reads: the body's colours; every visible box (panels, tables, messages,
# tool calls, code, form controls, buttons) with its background; every visible element holding
# text with its colour and the first opaque background behind it.
COLOURS_JS = """() => {
  const visible = e => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
  const opaque = c => !/^rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent';
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const behind = e => { for (let x = e; x; x = x.parentElement) { const c = getComputedStyle(x).backgroundColor; if (opaque(c)) return c; } return getComputedStyle(document.documentElement).backgroundColor; };
  const boxes = Array.from(document.querySelectorAll('header.top, .panel, .table-wrap, .msg, details, pre, .diff, textarea, select, input[type=text], input[type=search], input[type=password], button, .chips a, .badge'))
    .filter(visible).map(e => ({what: name(e), bg: getComputedStyle(e).backgroundColor, fg: getComputedStyle(e).color, primary: e.matches('button.primary')}))
    .filter(b => opaque(b.bg));
  const texts = Array.from(document.body.querySelectorAll('*'))
    .filter(e => !e.closest('svg') && visible(e) && Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim()))
    .map(e => ({what: name(e), text: e.textContent.trim().slice(0, 40), fg: getComputedStyle(e).color, bg: behind(e)}));
  const body = getComputedStyle(document.body);
  return {bg: body.backgroundColor, fg: body.color, boxes, texts};
}"""


def check_scheme(page, name, dark):
    """Checks the page's colours in the scheme the page is shown in: the body's background is
    dark (luminance < 0.1) in dark mode and light (> 0.5) in light mode, so are the boxes (a
    primary button, in the accent colour, excepted), and every text contrasts with what is behind
    it by at least MIN_CONTRAST. Returns the body's background luminance."""
    colours = page.evaluate(COLOURS_JS)
    body = luminance(colours["bg"])
    scheme = "dark" if dark else "light"
    check(body < 0.1 if dark else body > 0.5, f"{name} in {scheme} mode: the body's background is {colours['bg']}")
    wrong = [b for b in colours["boxes"] if not b["primary"] and (luminance(b["bg"]) >= 0.1 if dark else luminance(b["bg"]) <= 0.5)]
    check(not wrong, f"{name} in {scheme} mode: boxes of the other scheme: {wrong[:5]}")
    faint = [dict(t, ratio=round(contrast(t["fg"], t["bg"]), 2)) for t in colours["texts"] + colours["boxes"] if contrast(t["fg"], t["bg"]) < MIN_CONTRAST]
    check(not faint, f"{name} in {scheme} mode: text with a contrast under {MIN_CONTRAST}: {faint[:5]}")
    report["schemes"].append({"page": name, "scheme": scheme, "body": colours["bg"], "luminance": round(body, 4),
                              "boxes": len(colours["boxes"]), "texts": len(colours["texts"]), "ok": not wrong and not faint})
    return body


# What the phone check reads: the page's width and its layout's against the screen's, the viewport
# meta, and (to say why when it is wider) the elements that stick out past the screen and are not
# inside a box that scrolls or clips them.
WIDTH_JS = """screen => {
  const width = Math.min(screen, window.innerWidth);
  const clipped = e => { for (let x = e.parentElement; x && x !== document.body; x = x.parentElement) { if (getComputedStyle(x).overflowX !== 'visible') return true; } return false; };
  const out = Array.from(document.body.querySelectorAll('*'))
    .filter(e => e.getBoundingClientRect().right > width + 0.5 && !clipped(e))
    .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' right=' + Math.round(e.getBoundingClientRect().right));
  const meta = document.querySelector('meta[name=viewport]');
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, viewport: meta && meta.content, out};
}"""


def check_phone(page, name):
    """Checks that the page does not scroll sideways on the phone (wide tables and code scroll
    inside their own box), and takes its screenshot."""
    screen = PHONE["viewport"]["width"]
    width = page.evaluate(WIDTH_JS, screen)
    check("width=device-width" in (width["viewport"] or ""), f"{name} on a phone: the viewport meta is {width['viewport']}")
    # Content wider than the screen either scrolls the page sideways or, on a phone, widens the
    # layout past the screen (and shrinks the page): both are failures.
    fits = width["scrollWidth"] <= screen and width["innerWidth"] == screen
    check(fits, f"{name} on a phone is wider than the screen ({screen} px): {width}")
    report["phone"]["pages"].append({"page": name, **width, "fits": fits})
    shot(page, name + "-phone")


def check_on_screen(page, selector, name):
    """Checks that the element is visible and within the phone's screen from left to right."""
    expect(page.locator(selector).first).to_be_visible()
    box = page.locator(selector).first.bounding_box()
    inside = box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"] + 0.5
    check(inside, f"{name} on a phone: {selector} is not within the screen: {box}")


def main():
    os.makedirs(ARTIFACTS, exist_ok=True)
    gate_dir = tempfile.mkdtemp(prefix="ns-dashboard-gate-")
    gate = os.path.join(gate_dir, "gate")
    os.mkfifo(gate)

    # Tasks that exist before the browser looks: a finished session with a subagent, a prompt
    # and agent output holding a script tag, a task that works until it is cancelled; waiting for
    # a person: a question, two approvals of a tool call, a task held for approval before it runs
    # (`ask: always`); another task working, for the page without script to cancel.
    session = submit("subagent", "Review the invoices module with a subagent")
    hostile = submit("echo", "<script>alert(1)</script> please")
    sleeper = submit("sleeper", "Work until cancelled")
    asker = submit("talker", "Ask which branch, at once.")
    approved = submit("approver", "Clean the build directory (approved in the browser)")
    pending = submit("approver", "Clean the build directory (left waiting)")
    held = api("POST", "/v1/tasks", {"agent": "echo", "prompt": "Publish the release notes (held, then rejected)",
                                     "max_attempts": 1, "ask": "always"})["id"]
    plain_sleeper = submit("sleeper", "Work until cancelled without script")
    wait_for_state(session, {"done", "error"})
    wait_for_state(hostile, {"done"})
    for task in (sleeper, plain_sleeper):
        wait_for_state(task, {"running"})
    for task in (asker, approved, pending, held):
        wait_for_state(task, {"waiting"})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = new_page(browser, viewport={"width": 1280, "height": 900}, color_scheme="light")
        context = page.context

        # Signing in: no cookie goes to the login page; a wrong token is refused without detail;
        # the right one lands on the task list with an HttpOnly, SameSite=Strict cookie.
        page.goto(BASE + "/")
        check(page.url.startswith(BASE + "/login"), f"without a cookie / went to {page.url}")
        shot(page, "login")
        check_scheme(page, "login", dark=False)
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
        light = check_scheme(page, "tasks", dark=False)

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
        check_scheme(page, "task-session", dark=False)

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
        validate_session(page, "task-waiting", "/tasks/" + talker)

        # A task waiting for approval shows the tool and its input, and the two buttons.
        page.goto(BASE + "/tasks/" + approved)
        expect(page.locator("#inbox .question")).to_contain_text("May I delete the build directory?")
        expect(page.locator("#inbox .tool-name")).to_have_text("Bash")
        expect(page.locator("#inbox pre")).to_contain_text("rm -rf .build/release")
        expect(page.locator(".approval-form button[value=approve]")).to_be_visible()
        expect(page.locator(".approval-form button[value=reject]")).to_be_visible()
        shot(page, "task-approval")
        validate_session(page, "task-approval", "/tasks/" + approved)

        # Needs you lists them all, each with the forms that answer it; the page validates with
        # those forms (and their CSRF fields) in it.
        page.goto(BASE + "/needs-you")
        expect(page.locator(f"#wait-{talker}")).to_contain_text("Which branch should I use?")
        expect(page.locator(f"#wait-{talker} .answer-form textarea")).to_be_visible()
        for task in (approved, pending, held):
            expect(page.locator(f"#wait-{task} .approval-form button[value=approve]")).to_be_visible()
        expect(page.locator(f"#wait-{approved} pre")).to_contain_text("rm -rf .build/release")
        shot(page, "needs-you")
        check_scheme(page, "needs-you", dark=False)
        source = validate_session(page, "needs-you-waiting", "/needs-you")
        check(source.count('class="answer-form"') == 2 and source.count('class="approval-form"') == 3,
              "needs-you does not hold two answer forms and three approval forms")
        check(source.count('name="csrf"') >= 5, "the forms of needs-you carry no CSRF field")

        # Approving one, with a comment: the agent runs again with the decision and finishes.
        page.fill(f"#decision-{approved}", "go ahead")
        page.click(f"#wait-{approved} button[value=approve]")
        expect(page.locator(f"#wait-{approved}")).to_have_count(0)
        check(page.url == BASE + "/needs-you", f"approving went to {page.url}")
        check(wait_for_state(approved, {"done", "error"}) == "done", "the approved task did not finish")
        result = api("GET", "/v1/tasks/" + approved).get("result")
        check(result == "approve: go ahead", f"the agent did not get the approval: {result}")
        report["approved"] = result == "approve: go ahead"

        # Rejecting the task held before its first run drops it, with the reason as its error.
        page.fill(f"#decision-{held}", "not this week")
        page.click(f"#wait-{held} button[value=reject]")
        expect(page.locator(f"#wait-{held}")).to_have_count(0)
        check(wait_for_state(held, {"dropped", "done", "error"}) == "dropped", "the rejected task was not dropped")
        error = api("GET", "/v1/tasks/" + held).get("error") or ""
        check("not this week" in error, f"the rejected task's error is not the reason: {error}")
        report["rejected"] = "not this week" in error
        expect(page.locator(f"#wait-{pending}")).to_be_visible()

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
        check_scheme(page, "agents", dark=False)

        # Dark mode, as the system asks for it: every page dark and readable, unlike the light one.
        dark = new_page(browser, viewport={"width": 1280, "height": 900}, color_scheme="dark")
        dark.goto(BASE + "/login")
        check_scheme(dark, "login", dark=True)
        shot(dark, "login-dark")
        sign_in(dark)
        darkest = check_scheme(dark, "tasks", dark=True)
        check(darkest < light, f"the list's background is no darker in dark mode ({darkest} against {light})")
        shot(dark, "tasks-dark")
        for name, path in [("task-session", "/tasks/" + session), ("task-approval", "/tasks/" + pending),
                           ("needs-you", "/needs-you"), ("agents", "/agents")]:
            dark.goto(BASE + path)
            if name == "task-session":
                dark.locator("details.tool > summary").first.click()
            check_scheme(dark, name, dark=True)
            shot(dark, name + "-dark")
        report["dark"] = {"light_body": round(light, 4), "dark_body": round(darkest, 4)}
        dark.context.close()

        # A phone: no page scrolls sideways, the controls are on the screen.
        phone = new_page(browser, **PHONE)
        phone.goto(BASE + "/login")
        check_phone(phone, "login")
        sign_in(phone)
        check_phone(phone, "tasks")
        check_on_screen(phone, "form.filters", "tasks")
        check_on_screen(phone, "form.filters button[type=submit]", "tasks")
        check_on_screen(phone, f"#row-{session} td.prompt a", "tasks")
        check_on_screen(phone, "header.top nav a[href='/needs-you']", "tasks")
        for name, path, control in [("task-session", "/tasks/" + session, "#conversation"),
                                    ("task-hostile", "/tasks/" + hostile, "h1"),
                                    ("task-approval", "/tasks/" + pending, ".approval-form button[value=approve]"),
                                    ("needs-you", "/needs-you", f"#wait-{asker} .answer-form textarea"),
                                    ("agents", "/agents", "#agent-talker")]:
            phone.goto(BASE + path)
            check_on_screen(phone, control, name)
            check_phone(phone, name)
        phone.emulate_media(color_scheme="dark")
        phone.goto(BASE + "/")
        check_scheme(phone, "tasks-phone", dark=True)
        shot(phone, "tasks-phone-dark")
        phone.context.close()

        # No JavaScript: signing in, the list, a conversation, needs-you and agents are drawn by the
        # server; a tool call opens (a details element); answering and cancelling are plain forms.
        plain = new_page(browser, viewport={"width": 1280, "height": 900}, java_script_enabled=False)
        sign_in(plain)
        rows = plain.locator("#task-list tbody tr[id^=row-]").count()
        for task in (session, hostile, asker, pending, plain_sleeper):
            expect(plain.locator(f"#row-{task}")).to_be_visible()
        expect(plain.locator(f"#row-{hostile} td.prompt a")).to_contain_text("<script>alert(1)</script>")
        check(plain.locator("#live-dot.on").count() == 0, "the live dot is on without script")
        shot(plain, "tasks-nojs")
        plain.goto(BASE + "/tasks/" + session)
        check(plain.locator(".msg.assistant").count() > 0, "no assistant message without script")
        opened = plain.locator("details.tool[open]").count()
        plain.locator("details.tool > summary").first.click()
        expect(plain.locator("details.tool[open]")).to_have_count(opened + 1)
        shot(plain, "task-session-nojs")
        plain.goto(BASE + "/tasks/" + talker)
        expect(plain.locator("#conversation")).to_contain_text("first line: waiting for the gate")
        expect(plain.locator("#conversation")).to_contain_text("<script>alert(1)</script> said the agent")
        expect(plain.locator("#summary")).to_contain_text("answered: dev-branch")
        plain.goto(BASE + "/agents")
        expect(plain.locator("#agent-talker")).to_be_visible()
        check(plain.locator("svg.chart").count() > 0, "no cost chart without script")
        shot(plain, "agents-nojs")
        plain.goto(BASE + "/needs-you")
        expect(plain.locator(f"#wait-{asker}")).to_contain_text("Which branch should I use?")
        expect(plain.locator(f"#wait-{pending} .approval-form")).to_be_visible()
        shot(plain, "needs-you-nojs")
        # Answering with an option's button.
        plain.locator(f"#wait-{asker} .actions button", has_text="main").click()
        expect(plain.locator(f"#wait-{asker}")).to_have_count(0)
        check(wait_for_state(asker, {"done", "error"}) == "done", "the task answered without script did not finish")
        answered = api("GET", "/v1/tasks/" + asker).get("result") == "answered: main"
        check(answered, "the agent did not get the answer sent without script")
        # Cancelling (no confirm without script: the form posts at once).
        plain.goto(BASE + "/tasks/" + plain_sleeper)
        plain.click("form[action$='/cancel'] button")
        expect(plain.locator("#summary .badge").first).to_have_text("cancelled")
        check(wait_for_state(plain_sleeper, {"cancelled"}) == "cancelled", "the task was not cancelled without script")
        report["no_js"] = {"rows": rows, "answered": answered, "cancelled": True}
        shot(plain, "task-cancelled-nojs")
        plain.context.close()

        # A wrong cookie: back to the login page, with no detail.
        context.clear_cookies()
        context.add_cookies([{"name": "nightshift_token", "value": "ns_expired", "url": BASE}])
        page.goto(BASE + "/tasks/" + session)
        check(page.url.startswith(BASE + "/login"), f"a wrong cookie went to {page.url}")
        check(page.locator(".notice").count() == 0, "the login page after a wrong cookie says why")

        browser.close()

    for name, path in [("login", "/login"), ("tasks", "/"), ("tasks-filtered", "/?state=done&q=a"),
                       ("task-session", "/tasks/" + session), ("task-hostile", "/tasks/" + hostile),
                       ("task-answered", "/tasks/" + talker), ("task-approved", "/tasks/" + approved),
                       ("task-rejected", "/tasks/" + held), ("needs-you", "/needs-you"), ("agents", "/agents")]:
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
