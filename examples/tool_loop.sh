#!/usr/bin/env bash
# A tool-use loop in plain shell: msgcli exits 5 when the model asks for a tool,
# printing one JSON line per call; the script runs the tool and answers with
# --tool-result, keeping the whole exchange in a conversation file.
# Needs: msgcli, jq.  Usage: tool_loop.sh "What is the weather in Paris?"
set -u
chat=$(mktemp -d)/chat.json
tools=$(dirname "$0")/weather_tools.json

get_weather() {  # a stand-in for a real tool
  jq -n --arg city "$1" '{city: $city, forecast: "sunny", celsius: 21}' -c
}

answer_args=("$@")
for _ in 1 2 3 4 5; do
  output=$(msgcli -c "$chat" --tools "$tools" "${answer_args[@]}")
  status=$?
  if [ "$status" -ne 5 ]; then
    printf '%s\n' "$output"
    exit "$status"
  fi
  answer_args=()
  while IFS= read -r line; do
    case "$line" in
      '{"id":'*)
        id=$(jq -r .id <<<"$line")
        name=$(jq -r .name <<<"$line")
        if [ "$name" = get_weather ]; then
          answer_args+=(--tool-result "$id" "$(get_weather "$(jq -r .input.city <<<"$line")")")
        else
          answer_args+=(--tool-error "$id" "unknown tool $name")
        fi ;;
      *) printf '%s\n' "$line" >&2 ;;  # text the model wrote before its calls
    esac
  done <<<"$output"
done
echo "tool_loop: too many tool rounds" >&2
exit 1
