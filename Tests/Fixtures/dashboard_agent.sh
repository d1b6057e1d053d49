#!/bin/sh
# A command agent for the dashboard's browser test (dashboard_browser.py), by its first argument:
#   talker   prints a line, waits until the test writes to the FIFO named on the prompt's
#            `gate: PATH` line, prints agent output holding a <script> tag, then asks a question;
#            run again with the answer, it finishes with "answered: <answer>"
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
    read -r _ <"$gate"
    echo '<script>alert(1)</script> said the agent'
    echo '{"type":"wait_for_input","question":"Which branch should I use?","options":["main","dev"]}'
    ;;
sleeper)
    echo "working until cancelled"
    exec sleep 600
    ;;
echo)
    printf '%s\n' "$stdin"
    ;;
esac
