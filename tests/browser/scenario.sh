# Sourced by tests/browser/report.sh: a temporary git repository with a
# scripted run that reads a file holding markup and a key, is denied a
# protected write, fails a check and repairs it. Sets $REPO.
REPO=$(mktemp -d)
cd "$REPO"
git init -q -b main
git config user.email tester@example.com
git config user.name Tester
mkdir -p config migrations
printf '[server]\nport = 8080\n' > config/app.ini
printf 'CREATE TABLE t (x INT);\n' > migrations/001.sql
printf 'release notes <script>alert("xss")</script>\nkey: %s\n' "$WF_DEMO_KEY" > notes.txt
cat > task.yaml <<'YAML'
wf: 1
name: migrate-config
version: 1.0.0
model: { provider: script, script: turns.yaml }
context:
  include: [config/app.ini]
tools: [read_file, write_file, edit_file, shell]
permissions:
  write: ["config/**"]
  protect: ["migrations/**"]
  shell:
    allow: ["cat *"]
prompt: Migrate config/app.ini to TOML.
checks:
  - name: has-host
    run: "grep -q host config/app.toml || { echo 'no host key in <config/app.toml>'; exit 4; }"
YAML
cat > turns.yaml <<'YAML'
turns:
  - text: "Reading the notes first. <b>bold?</b>"
    tool_calls:
      - { name: shell, input: { command: "cat notes.txt" } }
      - { name: write_file, input: { path: migrations/002.sql, content: "DROP TABLE t;\n" } }
  - tool_calls:
      - { name: write_file, input: { path: config/app.toml, content: "[server]\nport = 8080\n" } }
  - text: Done.
  - tool_calls:
      - { name: edit_file, input: { path: config/app.toml, old: "[server]\n", new: "[server]\nhost = \"localhost\"\n" } }
  - text: Fixed.
YAML
git add -A
git commit -qm start
