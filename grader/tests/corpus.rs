//! The adversarial corpus: one submission per way of fooling the grader (issue "The grader
//! cannot be fooled"), each graded on the tiny fake course. Every one must score 0, with a note
//! or message that says why, and come back as a report (never a grader error).
//!
//! Most attacks are refused by the source policy before anything is built. The same attacks are
//! then graded with the policy switched off, to prove that the layers behind it hold on their
//! own: the harness's secret (forged passes), the sandbox (poisoning, survivors, limits), the
//! build's time limit, the lab's time budget and the escaped reports.

mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use grader::grade::{GradeReport, Grader, Submission};
use grader::report::{Format, render};
use grader::runner::TestStatus;
use support::{FakeCourse, REFERENCE, STUB};

/// Stub code plus `extra` items at the end of `lib.rs`.
fn stub_with(extra: &str) -> String {
    format!("{STUB}\n{extra}\n")
}

fn grade(grader: &Grader, root: &Path) -> GradeReport {
    grader.grade(&Submission::from_dir(root), &[1]).expect("every submission gets a report")
}

fn all_text(report: &GradeReport) -> String {
    let lab = &report.labs[0];
    let mut text = lab.notes.join("\n");
    for test in &lab.tests {
        text.push('\n');
        text.push_str(&test.message);
    }
    text.push('\n');
    text.push_str(&lab.compile_errors);
    text
}

fn assert_zero(name: &str, report: &GradeReport, expected: &str) {
    let text = all_text(report);
    assert_eq!(report.score, 0.0, "{name} scored points:\n{}", render(report, Format::Text));
    assert!(text.contains(expected), "{name}: the report does not say {expected:?}:\n{text}");
}

/// Writes libtest's success lines to the real stdout and ends the process with 0.
const FORGE: &str = r#"
fn forge() -> ! {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(b"\nrunning 1 test\ntest add ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\n");
    let _ = out.flush();
    std::process::exit(0)
}
"#;

#[test]
fn every_attack_is_refused_by_the_source_policy_with_file_and_line() {
    let fake = FakeCourse::new();
    let grader = fake.grader();
    let cases: Vec<(&str, String, &str)> = vec![
        ("forged stdout", stub_with(&format!("{FORGE}\npub fn helper() {{ forge() }}")), "lib.rs:"),
        (
            "init_array",
            stub_with(
                "#[unsafe(link_section = \".init_array\")]\n#[used]\nstatic INIT: extern \"C\" fn() = start;\nextern \"C\" fn start() {}",
            ),
            "is refused in lab code",
        ),
        (
            "path to the reference",
            stub_with("#[path = \"../../../../../../solutions/lab1/src/lib.rs\"]\nmod reference;"),
            "labs/lab1/src/lib.rs:",
        ),
        (
            "include of the hidden suite",
            stub_with("compile_error!(include_str!(\"../tests/hidden/main.rs\"));"),
            "include_str!",
        ),
        ("env", stub_with("pub const HOME: &str = env!(\"HOME\");"), "env!"),
        ("std::fs", stub_with("pub fn peek() -> Vec<u8> { std::fs::read(\"/etc/passwd\").unwrap() }"), "std::fs"),
        ("alias of std", stub_with("use std as s;\npub fn bye() { s::process::exit(0) }"), "std::process"),
        ("catch_unwind", stub_with("pub fn calm() { let _ = std::panic::catch_unwind(|| ()); }"), "std::panic"),
        ("unsafe", stub_with("pub fn raw() -> u8 { unsafe { *(&0u8 as *const u8) } }"), "`unsafe`"),
        ("extern block", stub_with("unsafe extern \"C\" { fn exit(code: i32) -> !; }"), "`extern` block"),
        ("macro body", stub_with("macro_rules! bye { () => { std::process::exit(0) } }"), "std::process"),
        ("no_mangle", stub_with("#[unsafe(no_mangle)]\npub extern \"C\" fn main() {}"), "refused"),
    ];
    for (name, code, expected) in cases {
        let root = fake.submission(&name.replace(' ', "-"), &code);
        let report = grade(&grader, &root);
        assert_zero(name, &report, expected);
        assert!(report.labs[0].tests.iter().all(|t| t.status == TestStatus::Refused), "{name}");
        assert!(all_text(&report).contains("labs/lab1/src/lib.rs:"), "{name}: the note names the file and line");
    }
}

#[test]
fn path_tricks_are_refused_with_a_note() {
    let fake = FakeCourse::new();
    let grader = fake.grader();

    let root = fake.submission("src-link", STUB);
    fs::remove_dir_all(root.join("labs/lab1/src")).unwrap();
    symlink(fake.root().join("solutions/lab1/src"), root.join("labs/lab1/src")).unwrap();
    assert_zero("src is a link to the reference", &grade(&grader, &root), "labs/lab1/src is a symbolic link");

    let root = fake.submission("file-link", STUB);
    symlink(fake.root().join("solutions/lab1/src/lib.rs"), root.join("labs/lab1/src/reference.rs")).unwrap();
    assert_zero("a file links to the reference", &grade(&grader, &root), "reference.rs is a symbolic link");

    let root = fake.submission("manifest-zero", STUB);
    fs::remove_file(root.join("labs/lab1/Cargo.toml")).unwrap();
    symlink("/dev/zero", root.join("labs/lab1/Cargo.toml")).unwrap();
    assert_zero("the manifest is /dev/zero", &grade(&grader, &root), "Cargo.toml is a symbolic link");

    let root = fake.submission("fifo", STUB);
    let status = std::process::Command::new("mkfifo").arg(root.join("labs/lab1/src/pipe.rs")).status().unwrap();
    assert!(status.success());
    assert_zero("a FIFO", &grade(&grader, &root), "pipe.rs is a FIFO");

    let root = fake.submission("huge", STUB);
    fs::write(root.join("labs/lab1/src/data.rs"), vec![b'/'; 17 << 20]).unwrap();
    assert_zero("a 17 MiB file", &grade(&grader, &root), "data.rs is 17825792 bytes");

    let root = fake.submission("labs-link", STUB);
    let elsewhere = fake.root().join("elsewhere");
    fs::rename(root.join("labs"), &elsewhere).unwrap();
    symlink(&elsewhere, root.join("labs")).unwrap();
    assert_zero("labs is a link", &grade(&grader, &root), "labs is a symbolic link");
}

#[test]
fn with_the_policy_off_the_other_layers_still_hold() {
    let fake = FakeCourse::new();
    let grader = fake.grader_without_policy();

    // A forged pass from inside the test: libtest's lines on the real stdout, then exit 0.
    let forged = format!(
        "{FORGE}\npub fn add(a: u64, b: u64) -> u64 {{ let _ = (a, b); forge() }}\npub fn checksum(data: &[u8]) -> u32 {{ let _ = data; forge() }}\n"
    );
    let report = grade(&grader, &fake.submission("forged", &forged));
    assert_zero("forged pass", &report, "never saw the test body finish");

    // The same from `.init_array`, before libtest's main: not one test is even listed.
    let constructor = format!(
        "{STUB}\n{FORGE}\n#[unsafe(link_section = \".init_array\")]\n#[used]\nstatic INIT: extern \"C\" fn() = start;\nextern \"C\" fn start() {{ forge() }}\n"
    );
    let report = grade(&grader, &fake.submission("constructor", &constructor));
    assert_eq!(report.score, 0.0, "{}", render(&report, Format::Text));

    // A test binary whose --list fails still gets a report.
    let failing_list = format!(
        "{STUB}\n#[unsafe(link_section = \".init_array\")]\n#[used]\nstatic INIT: extern \"C\" fn() = start;\nextern \"C\" fn start() {{ std::process::exit(3) }}\n"
    );
    assert_zero(
        "--list fails",
        &grade(&grader, &fake.submission("list-fails", &failing_list)),
        "could not list its tests",
    );

    // A compile error cannot quote the hidden suite: it is not there while the library builds.
    let quote = stub_with("compile_error!(include_str!(\"../tests/hidden/main.rs\"));");
    let report = grade(&grader, &fake.submission("quote-hidden", &quote));
    assert_zero("quoting the hidden suite", &report, "did not compile");
    assert!(!render(&report, Format::Json).contains("wrong for the hidden test"), "the hidden suite leaked");
}

#[test]
fn a_poisoned_grade_leaves_the_next_one_untouched() {
    let fake = FakeCourse::new();
    let grader = fake.grader_without_policy();
    // Plants a cargo configuration with a compiler wrapper next to the generated workspace
    // and in every directory above it, and scribbles over what it can of the build.
    // (Only up to the fake course's root: above it is the machine's own /tmp.)
    if grader::sandbox::Mode::detect() == grader::sandbox::Mode::SameUser {
        eprintln!("same-user mode: a test could write the build directories; run as root to prove isolation");
        return;
    }
    let poison = r#"
fn poison() {
    let wrapper = "[build]\nrustc-wrapper = \"/bin/false\"\n";
    let mut dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while dir.starts_with("FAKE_ROOT") {
        let _ = std::fs::create_dir_all(dir.join(".cargo"));
        let _ = std::fs::write(dir.join(".cargo/config.toml"), wrapper);
        if !dir.pop() { break; }
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().take(3) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let _ = std::fs::write(entry.path(), "poisoned");
                }
            }
        }
    }
}
pub fn add(a: u64, b: u64) -> u64 { poison(); a + b }
pub fn checksum(data: &[u8]) -> u32 { poison(); data.len() as u32 }
"#
    .replace("FAKE_ROOT", fake.root().to_str().unwrap());
    let _ = grade(&grader, &fake.submission("poisoner", &poison));
    let stub = grade(&grader, &fake.submission("stub-after-poison", STUB));
    assert_eq!(stub.score, 0.0, "{}", render(&stub, Format::Text));
    let reference = grade(&grader, &fake.submission("reference-after-poison", REFERENCE));
    assert_eq!(reference.score, reference.max_score, "{}", render(&reference, Format::Text));
    for dir in [fake.root().to_path_buf(), fake.root().join("target/grader/work")] {
        assert!(!dir.join(".cargo/config.toml").exists(), "the test wrote {}", dir.display());
    }
}

#[test]
fn resource_attacks_end_within_their_limits() {
    let fake = FakeCourse::new();
    let mut options = fake.options();
    options.source_policy = false;
    options.limits.memory_bytes = 1 << 30;
    options.cargo.build_timeout = Duration::from_secs(20);
    options.lab_budget = Duration::from_secs(4);
    let grader = Grader::new(fake.course(), options).unwrap();

    // A child in a session of its own that would outlive the grade.
    let marker = format!("{}", 40_000 + std::process::id() % 10_000);
    let survivor = format!(
        "pub fn add(a: u64, b: u64) -> u64 {{ let _ = std::process::Command::new(\"setsid\").args([\"sleep\", \"{marker}\"]).spawn(); a + b + 1 }}\npub fn checksum(data: &[u8]) -> u32 {{ let _ = data; todo!() }}\n"
    );
    let _ = grade(&grader, &fake.submission("survivor", &survivor));
    let survivors: Vec<String> = fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| fs::read(entry.path().join("cmdline")).ok())
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.starts_with("sleep ") && cmdline.contains(&marker))
        .collect();
    if grader::sandbox::Mode::detect() == grader::sandbox::Mode::Isolated {
        assert!(survivors.is_empty(), "setsid children outlived the grade: {survivors:?}");
    }

    // Memory beyond the limit.
    let hog = "pub fn add(a: u64, b: u64) -> u64 { let v = vec![1u8; 4 << 30]; a + b + v[7] as u64 - 1 + 1 }\npub fn checksum(data: &[u8]) -> u32 { let v = vec![1u8; 4 << 30]; data.len() as u32 + v[9] as u32 }\n";
    let report = grade(&grader, &fake.submission("hog", hog));
    assert_zero("memory hog", &report, "");
    assert!(report.labs[0].tests.iter().any(|t| t.status == TestStatus::Crashed), "{}", render(&report, Format::Text));

    // Sleeping in every test: the lab's budget (4 s here) ends the run.
    let sleeper = REFERENCE.replace(
        "let total_of_both_numbers_for_the_caller = a + b;",
        "std::thread::sleep(std::time::Duration::from_secs(3)); let total_of_both_numbers_for_the_caller = a + b;",
    );
    let started = std::time::Instant::now();
    let report = grade(&grader, &fake.submission("sleeper", &sleeper));
    assert!(started.elapsed() < Duration::from_secs(60), "the budget did not stop the run");
    assert!(
        report.labs[0].tests.iter().any(|t| matches!(t.status, TestStatus::NotRun | TestStatus::TimedOut)),
        "{}",
        render(&report, Format::Text)
    );

    // A constant that never finishes evaluating holds rustc until the build's time limit.
    let endless = stub_with(
        "#[allow(long_running_const_eval)]\nconst SPIN: u64 = { let mut i = 1u64; while i != 0 { i = i.wrapping_mul(3); } i };\npub fn spin() -> u64 { SPIN }",
    );
    let started = std::time::Instant::now();
    let report = grade(&grader, &fake.submission("endless-const", &endless));
    assert_zero("endless const", &report, "did not compile");
    assert!(started.elapsed() < Duration::from_secs(90));
}

#[test]
fn injected_text_cannot_draw_in_a_report() {
    let fake = FakeCourse::new();
    let grader = fake.grader();
    let fake_row = "\u{1b}[2K\r  passed  2/2  hidden  adds_large_numbers";
    let code = format!(
        "pub fn add(a: u64, b: u64) -> u64 {{ let _ = (a, b); panic!(\"{}\") }}\npub fn checksum(data: &[u8]) -> u32 {{ let _ = data; panic!(\"<img src=x onerror=alert(1)> **bold** [link](http://x) | cell\") }}\n",
        fake_row.escape_default()
    );
    let root = fake.submission("inject", &code);
    fs::write(root.join("labs/lab1/src/<b>x<b>`[l](u)`.rs"), "fn broken( {").unwrap();
    let report = grade(&grader, &root);
    assert_eq!(report.score, 0.0);
    let text = render(&report, Format::Text);
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text}");
    let markdown = outside_fences(&render(&report, Format::Markdown));
    assert!(!markdown.contains("<b>") && !markdown.contains("<img"), "{markdown}");

    // And with code that runs, through the panic message of a test.
    let root = fake.submission("inject-message", &code);
    let report = grade(&grader, &root);
    let text = render(&report, Format::Text);
    assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text}");
    let markdown = outside_fences(&render(&report, Format::Markdown));
    assert!(!markdown.contains("<img") && !markdown.contains("**bold**"), "{markdown}");
}

/// The Markdown outside fenced code blocks (inside them, text is shown as written).
fn outside_fences(markdown: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<String> = None;
    for line in markdown.lines() {
        let ticks: String = line.chars().take_while(|c| *c == '`').collect();
        match &fence {
            Some(open) if ticks.len() >= open.len() && line.trim() == ticks => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}
