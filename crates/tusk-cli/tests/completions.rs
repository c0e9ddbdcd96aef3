//! `tusk completions SHELL` through the built binary; the bash script is
//! loaded by bash and asked to complete.

mod common;

#[test]
fn completion_scripts_name_the_commands() {
    for (shell, marker) in [
        ("bash", "complete -F _tusk"),
        ("zsh", "#compdef tusk"),
        ("fish", "complete -c tusk"),
    ] {
        let (code, out, err) = common::binary(&["completions", shell], &[]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell}: {out}");
        for cmd in ["migrate", "listen", "copy", "doctor", "inspect"] {
            assert!(out.contains(cmd), "{shell} lacks {cmd}");
        }
    }
    let (code, _, err) = common::binary(&["completions", "tcsh"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn bash_completes_subcommands_and_options() {
    let (_, script, _) = common::binary(&["completions", "bash"], &[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tusk.bash");
    std::fs::write(&path, script).unwrap();
    let complete = |line: &[&str]| -> String {
        let words = line.join(" ");
        let probe = format!(
            "source {}; COMP_WORDS=({words}); COMP_CWORD={}; COMP_LINE='{words}'; COMP_POINT=${{#COMP_LINE}}; _tusk tusk; echo \"${{COMPREPLY[@]}}\"",
            path.display(),
            line.len() - 1
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &probe])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let top = complete(&["tusk", "co"]);
    assert!(top.contains("copy") && top.contains("completions"), "{top}");
    let copy = complete(&["tusk", "copy", "out", "--fo"]);
    assert!(copy.contains("--format"), "{copy}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // `tusk completions bash | head -3`: the reader is gone before tusk writes.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tusk"))
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
