#!/bin/sh
# A command agent for the dashboard's browser test (dashboard_browser.py), by its first argument:
#   talker   prints a line, waits until the test writes to the FIFO named on the prompt's
#            `gate: PATH` line (if there is one), prints agent output holding a <script> tag,
#            then asks a question; run again with the answer, it finishes with "answered: <answer>"
#   approver asks for approval of a Bash command; run again with the decision, it finishes with
#            "<approve|reject>: <comment>"
#   sleeper  prints a line and works until it is cancelled
#   echo     prints its prompt back
stdin=$(cat)
case "$1" in
talker)
    answer=$(printf '%s\n' "$stdin" | grep '"type":"input"' | tail -n 1 | sed -n 's/.*"text":"\([^"]*\)".*/\1/p')
    if [ -n "$answer" ]; then
        printf '{"type":"result","text":"answered: %s"}\n' "$answer"
        exit 0
    fi
    gate=$(printf '%s\n' "$stdin" | sed -n 's/^gate: //p' | head -n 1)
    echo "first line: waiting for the gate"
    if [ -n "$gate" ]; then
        read -r _ <"$gate"
    fi
    echo '<script>alert(1)</script> said the agent'
    echo '{"type":"wait_for_input","question":"Which branch should I use?","options":["main","dev"]}'
    ;;
approver)
    decision=$(printf '%s\n' "$stdin" | grep '"type":"input"' | grep -E '"kind":"(approve|reject)"' | tail -n 1)
    if [ -n "$decision" ]; then
        kind=$(printf '%s\n' "$decision" | sed -n 's/.*"kind":"\([a-z]*\)".*/\1/p')
        comment=$(printf '%s\n' "$decision" | sed -n 's/.*"text":"\([^"]*\)".*/\1/p')
        printf '{"type":"result","text":"%s: %s"}\n' "$kind" "$comment"
        exit 0
    fi
    echo "about to clean the build directory"
    echo '{"type":"request_approval","question":"May I delete the build directory?","tool":"Bash","input":{"command":"rm -rf .build/release/nightshift-dashboard-browser-test-artifacts-with-a-long-path && swift build --configuration release --product nightshift"}}'
    ;;
sleeper)
    echo "working until cancelled"
    exec sleep 600
    ;;
echo)
    printf '%s\n' "$stdin"
    ;;
esac
