// Lab 3's zoo bug `rename-without-directory-sync` (grader/zoo/lab3.toml), caught by the public test
// `crash::a_power_cut_at_every_step_of_a_save_leaves_the_old_or_the_new_snapshot`: the crash trace the grader attached to the report.
// Regenerate: COURSE_EXAMPLE_TRACES=write cargo test -p grader --test example_traces
window.CRASH_TRACE_EXAMPLES = window.CRASH_TRACE_EXAMPLES || {};
window.CRASH_TRACE_EXAMPLES["lab3-rename-without-directory-sync"] = {
  "format": "durable-storage-crash-trace",
  "version": 1,
  "test": "crash::a_power_cut_at_every_step_of_a_save_leaves_the_old_or_the_new_snapshot",
  "replay": "LAB_SEED=0x3 cargo test -p lab3 --test public -- --exact crash::a_power_cut_at_every_step_of_a_save_leaves_the_old_or_the_new_snapshot",
  "explorer_seed": "0x3",
  "failure": {
    "invariant": "atomic-write",
    "message": "[atomic-write] during the second save, latest() is None: neither the old snapshot nor the new one\n  replay: LAB_SEED=0x3 cargo test -p lab3 --test public -- --exact crash::a_power_cut_at_every_step_of_a_save_leaves_the_old_or_the_new_snapshot"
  },
  "crash": {
    "after_step": 7,
    "steps": 13,
    "mode": "strict",
    "mode_seed": null,
    "acked": 1
  },
  "steps": [
    {
      "step": 1,
      "op": "create_dir",
      "path": "snap",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 2,
      "op": "create",
      "path": "snap/0000000000000001-000000000000000a.snap.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 3,
      "op": "write",
      "path": "snap/0000000000000001-000000000000000a.snap.tmp",
      "offset": 0,
      "len": 36,
      "to": null,
      "data": {
        "hex": "52 53 4d 53 4e 50 30 31 0a 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 84 03 00 00 00 00 00 00",
        "text": "RSMSNP01........................",
        "shown": 32,
        "len": 36
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 4,
      "op": "write",
      "path": "snap/0000000000000001-000000000000000a.snap.tmp",
      "offset": 36,
      "len": 900,
      "to": null,
      "data": {
        "hex": "69 31 30 74 31 3a 6d 65 74 78 65 61 6d 65 62 61 63 6e 6a 74 6a 65 65 64 62 76 75 62 76 68 6f 63",
        "text": "i10t1:metxeamebacnjtjeedbvubvhoc",
        "shown": 32,
        "len": 900
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 5,
      "op": "write",
      "path": "snap/0000000000000001-000000000000000a.snap.tmp",
      "offset": 936,
      "len": 4,
      "to": null,
      "data": {
        "hex": "db 61 a4 53",
        "text": ".a.S",
        "shown": 4,
        "len": 4
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 6,
      "op": "sync",
      "path": "snap/0000000000000001-000000000000000a.snap.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 7,
      "op": "rename",
      "path": "snap/0000000000000001-000000000000000a.snap.tmp",
      "offset": null,
      "len": null,
      "to": "snap/0000000000000001-000000000000000a.snap",
      "data": null,
      "failed": false,
      "acked": 1
    }
  ],
  "steps_omitted": 6,
  "files": [
    {
      "path": "snap/0000000000000001-000000000000000a.snap",
      "visible_names": [
        "snap/0000000000000001-000000000000000a.snap"
      ],
      "durable_names": [],
      "image_names": [],
      "durable_len": 940,
      "visible_len": 940,
      "image_len": null,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    }
  ],
  "files_omitted": 0,
  "directories": [
    {
      "path": "snap",
      "durable": [],
      "pending": [
        {
          "step": 2,
          "op": "create",
          "name": "snap/0000000000000001-000000000000000a.snap.tmp",
          "to": null,
          "kept": false
        },
        {
          "step": 7,
          "op": "rename",
          "name": "snap/0000000000000001-000000000000000a.snap.tmp",
          "to": "snap/0000000000000001-000000000000000a.snap",
          "kept": false
        }
      ],
      "pending_omitted": 0,
      "image": [],
      "names_omitted": 0
    }
  ],
  "directories_omitted": 0,
  "recovery": [],
  "recovery_omitted": 0
};
