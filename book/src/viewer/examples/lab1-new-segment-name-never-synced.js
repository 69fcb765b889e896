// Lab 1's zoo bug `new-segment-name-never-synced` (grader/zoo/lab1.toml), caught by the public test
// `crash::every_crash_point_of_a_short_workload_recovers`: the crash trace the grader attached to the report.
// Regenerate: COURSE_EXAMPLE_TRACES=write cargo test -p grader --test example_traces
window.CRASH_TRACE_EXAMPLES = window.CRASH_TRACE_EXAMPLES || {};
window.CRASH_TRACE_EXAMPLES["lab1-new-segment-name-never-synced"] = {
  "format": "durable-storage-crash-trace",
  "version": 1,
  "test": "crash::every_crash_point_of_a_short_workload_recovers",
  "replay": "LAB_SEED=0x3 cargo test -p lab1 --test public -- --exact crash::every_crash_point_of_a_short_workload_recovers",
  "explorer_seed": "0x3",
  "failure": {
    "invariant": "durability",
    "message": "[durability] last index is 0, but entry 1 was acknowledged\n  replay: LAB_SEED=0x3 cargo test -p lab1 --test public -- --exact crash::every_crash_point_of_a_short_workload_recovers"
  },
  "crash": {
    "after_step": 8,
    "steps": 36,
    "mode": "strict",
    "mode_seed": null,
    "acked": 1
  },
  "steps": [
    {
      "step": 1,
      "op": "create_dir",
      "path": "wal",
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
      "path": "wal/00000000000000000001.wal.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 3,
      "op": "set_len",
      "path": "wal/00000000000000000001.wal.tmp",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 4,
      "op": "write",
      "path": "wal/00000000000000000001.wal.tmp",
      "offset": 0,
      "len": 24,
      "to": null,
      "data": {
        "hex": "52 53 4d 57 41 4c 30 31 01 00 00 00 00 00 00 00 01 00 00 00 16 66 a2 93",
        "text": "RSMWAL01.............f..",
        "shown": 24,
        "len": 24
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 5,
      "op": "sync",
      "path": "wal/00000000000000000001.wal.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 6,
      "op": "rename",
      "path": "wal/00000000000000000001.wal.tmp",
      "offset": null,
      "len": null,
      "to": "wal/00000000000000000001.wal",
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 7,
      "op": "write",
      "path": "wal/00000000000000000001.wal",
      "offset": 24,
      "len": 40,
      "to": null,
      "data": {
        "hex": "20 00 00 00 b6 99 0e 3e 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 69 31 74 31 3a 61 69 76",
        "text": " ......>................i1t1:aiv",
        "shown": 32,
        "len": 40
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 8,
      "op": "sync",
      "path": "wal/00000000000000000001.wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    }
  ],
  "steps_omitted": 28,
  "files": [
    {
      "path": "wal/00000000000000000001.wal",
      "visible_names": [
        "wal/00000000000000000001.wal"
      ],
      "durable_names": [],
      "image_names": [],
      "durable_len": 64,
      "visible_len": 64,
      "image_len": null,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    }
  ],
  "files_omitted": 0,
  "directories": [
    {
      "path": "wal",
      "durable": [],
      "pending": [
        {
          "step": 2,
          "op": "create",
          "name": "wal/00000000000000000001.wal.tmp",
          "to": null,
          "kept": false
        },
        {
          "step": 6,
          "op": "rename",
          "name": "wal/00000000000000000001.wal.tmp",
          "to": "wal/00000000000000000001.wal",
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
