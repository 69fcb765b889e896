//! What every filesystem of the kit must do with the power on: the same tests run on the real
//! disk (`StdFs` in a temporary directory) and on the simulated one.

use std::io::ErrorKind;
use std::path::Path;
use std::sync::Arc;

use distributed::vfs::{FsRef, OpenMode, SimFs, StdFs, Vfs, write_atomic};

fn on_every_fs(test: impl Fn(&dyn Vfs)) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let real: FsRef = Arc::new(StdFs::new(dir.path()));
    test(real.as_ref());
    test(&SimFs::new(1));
}

#[test]
fn a_write_is_read_back_at_its_offset() {
    on_every_fs(|fs| {
        let file = fs.open(Path::new("f"), OpenMode::Create).unwrap();
        file.write_all_at(0, b"hello world").unwrap();
        file.write_all_at(6, b"there").unwrap();
        let mut buf = [0; 11];
        file.read_exact_at(0, &mut buf).unwrap();
        assert_eq!(&buf, b"hello there");
        assert_eq!(file.len().unwrap(), 11);
        assert_eq!(file.read_at(20, &mut buf).unwrap(), 0, "a read past the end returns nothing");
        let err = file.read_exact_at(8, &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    });
}

#[test]
fn set_len_cuts_and_extends_with_zeros() {
    on_every_fs(|fs| {
        let file = fs.open(Path::new("f"), OpenMode::Create).unwrap();
        file.write_all_at(0, b"abcdef").unwrap();
        file.set_len(3).unwrap();
        file.set_len(5).unwrap();
        assert_eq!(file.read_all().unwrap(), b"abc\0\0");
    });
}

#[test]
fn open_modes_mean_what_they_say() {
    on_every_fs(|fs| {
        let missing = fs.open(Path::new("nope"), OpenMode::ReadWrite).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        fs.open(Path::new("f"), OpenMode::CreateNew).unwrap().write_all_at(0, b"x").unwrap();
        let taken = fs.open(Path::new("f"), OpenMode::CreateNew).unwrap_err();
        assert_eq!(taken.kind(), ErrorKind::AlreadyExists);
        let reopened = fs.open(Path::new("f"), OpenMode::Create).unwrap();
        assert_eq!(reopened.read_all().unwrap(), b"x", "Create does not truncate");
        let read_only = fs.open(Path::new("f"), OpenMode::Read).unwrap();
        assert!(read_only.write_at(0, b"y").is_err(), "a read-only handle refuses writes");
    });
}

#[test]
fn directories_list_their_names_sorted() {
    on_every_fs(|fs| {
        fs.create_dir_all(Path::new("wal/sub")).unwrap();
        for name in ["c", "a", "b"] {
            fs.open(&Path::new("wal").join(name), OpenMode::Create).unwrap();
        }
        assert_eq!(fs.read_dir(Path::new("wal")).unwrap(), ["a", "b", "c", "sub"]);
        assert!(fs.exists(Path::new("wal/a")).unwrap());
        fs.remove_file(Path::new("wal/a")).unwrap();
        assert!(!fs.exists(Path::new("wal/a")).unwrap());
        assert_eq!(fs.remove_file(Path::new("wal/a")).unwrap_err().kind(), ErrorKind::NotFound);
        fs.sync_dir(Path::new("wal")).unwrap();
    });
}

#[test]
fn rename_replaces_the_target_and_keeps_open_handles_working() {
    on_every_fs(|fs| {
        let old = fs.open(Path::new("old"), OpenMode::Create).unwrap();
        old.write_all_at(0, b"old").unwrap();
        let new = fs.open(Path::new("new.tmp"), OpenMode::Create).unwrap();
        new.write_all_at(0, b"new").unwrap();
        fs.rename(Path::new("new.tmp"), Path::new("old")).unwrap();
        assert!(!fs.exists(Path::new("new.tmp")).unwrap());
        let seen = fs.open(Path::new("old"), OpenMode::Read).unwrap().read_all().unwrap();
        assert_eq!(seen, b"new");
        new.write_all_at(3, b"!").unwrap();
        let seen = fs.open(Path::new("old"), OpenMode::Read).unwrap().read_all().unwrap();
        assert_eq!(seen, b"new!", "a handle follows its file through a rename");
    });
}

#[test]
fn write_atomic_replaces_the_whole_content() {
    on_every_fs(|fs| {
        write_atomic(fs, Path::new("state"), b"first version").unwrap();
        write_atomic(fs, Path::new("state"), b"second").unwrap();
        let seen = fs.open(Path::new("state"), OpenMode::Read).unwrap().read_all().unwrap();
        assert_eq!(seen, b"second");
        assert_eq!(fs.read_dir(Path::new("")).unwrap(), ["state"], "no temporary file is left behind");
    });
}
