// Lab 2's zoo bug `set-aside-not-synced` (grader/zoo/lab2.toml), caught by the public test
// `repair::a_repair_cut_short_by_a_crash_loses_nothing_and_a_finished_one_is_durable`: the crash trace the grader attached to the report.
// Regenerate: COURSE_EXAMPLE_TRACES=write cargo test -p grader --test example_traces
window.CRASH_TRACE_EXAMPLES = window.CRASH_TRACE_EXAMPLES || {};
window.CRASH_TRACE_EXAMPLES["lab2-set-aside-not-synced"] = {
  "format": "durable-storage-crash-trace",
  "version": 1,
  "test": "repair::a_repair_cut_short_by_a_crash_loses_nothing_and_a_finished_one_is_durable",
  "replay": "LAB_SEED=0x22 cargo test -p lab2 --test public -- --exact repair::a_repair_cut_short_by_a_crash_loses_nothing_and_a_finished_one_is_durable",
  "explorer_seed": "0x22",
  "failure": {
    "invariant": "durability",
    "message": "[durability] repair returned, but after a crash the log does not open: [checksum] 00000000000000000004.wal at offset 264: a sealed segment (one with a successor) without its footer\n  replay: LAB_SEED=0x22 cargo test -p lab2 --test public -- --exact repair::a_repair_cut_short_by_a_crash_loses_nothing_and_a_finished_one_is_durable"
  },
  "crash": {
    "after_step": 22,
    "steps": 22,
    "mode": "strict",
    "mode_seed": null,
    "acked": 2
  },
  "steps": [
    {
      "step": 11,
      "op": "sync_dir",
      "path": "wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 12,
      "op": "create",
      "path": "wal/00000000000000000004.wal.broken.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 13,
      "op": "set_len",
      "path": "wal/00000000000000000004.wal.broken.tmp",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 14,
      "op": "write",
      "path": "wal/00000000000000000004.wal.broken.tmp",
      "offset": 0,
      "len": 100,
      "to": null,
      "data": {
        "hex": "20 00 00 00 12 28 c1 5b 05 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 69 35 74 32 3a 69 78 66",
        "text": " ....(.[................i5t2:ixf",
        "shown": 32,
        "len": 100
      },
      "failed": false,
      "acked": 1
    },
    {
      "step": 15,
      "op": "sync",
      "path": "wal/00000000000000000004.wal.broken.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 16,
      "op": "rename",
      "path": "wal/00000000000000000004.wal.broken.tmp",
      "offset": null,
      "len": null,
      "to": "wal/00000000000000000004.wal.broken",
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 17,
      "op": "sync_dir",
      "path": "wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 18,
      "op": "set_len",
      "path": "wal/00000000000000000004.wal",
      "offset": null,
      "len": 64,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 19,
      "op": "sync",
      "path": "wal/00000000000000000004.wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 20,
      "op": "rename",
      "path": "wal/00000000000000000007.wal",
      "offset": null,
      "len": null,
      "to": "wal/00000000000000000007.wal.broken",
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 21,
      "op": "write",
      "path": "wal/00000000000000000004.wal",
      "offset": 64,
      "len": 200,
      "to": null,
      "data": {
        "hex": "20 00 00 00 1a 28 c1 5b 05 00 00 00 00 00 00 00 02 00 00 00 00 00 00 00 69 35 74 32 3a 69 78 66",
        "text": " ....(.[................i5t2:ixf",
        "shown": 32,
        "len": 200
      },
      "failed": false,
      "acked": 1
    },
    {
      "step": 22,
      "op": "sync",
      "path": "wal/00000000000000000004.wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 2
    }
  ],
  "steps_omitted": 10,
  "files": [
    {
      "path": "wal/00000000000000000001.wal",
      "visible_names": [
        "wal/00000000000000000001.wal"
      ],
      "durable_names": [
        "wal/00000000000000000001.wal"
      ],
      "image_names": [
        "wal/00000000000000000001.wal"
      ],
      "durable_len": 164,
      "visible_len": 164,
      "image_len": 164,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "wal/00000000000000000004.wal",
      "visible_names": [
        "wal/00000000000000000004.wal"
      ],
      "durable_names": [
        "wal/00000000000000000004.wal"
      ],
      "image_names": [
        "wal/00000000000000000004.wal"
      ],
      "durable_len": 264,
      "visible_len": 264,
      "image_len": 264,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "wal/00000000000000000004.wal.broken",
      "visible_names": [
        "wal/00000000000000000004.wal.broken"
      ],
      "durable_names": [
        "wal/00000000000000000004.wal.broken"
      ],
      "image_names": [
        "wal/00000000000000000004.wal.broken"
      ],
      "durable_len": 100,
      "visible_len": 100,
      "image_len": 100,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "wal/00000000000000000007.wal.broken",
      "visible_names": [
        "wal/00000000000000000007.wal.broken"
      ],
      "durable_names": [
        "wal/00000000000000000007.wal"
      ],
      "image_names": [
        "wal/00000000000000000007.wal"
      ],
      "durable_len": 144,
      "visible_len": 144,
      "image_len": 144,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    }
  ],
  "files_omitted": 0,
  "directories": [
    {
      "path": "wal",
      "durable": [
        "wal/00000000000000000001.wal",
        "wal/00000000000000000004.wal",
        "wal/00000000000000000004.wal.broken",
        "wal/00000000000000000007.wal"
      ],
      "pending": [
        {
          "step": 20,
          "op": "rename",
          "name": "wal/00000000000000000007.wal",
          "to": "wal/00000000000000000007.wal.broken",
          "kept": false
        }
      ],
      "pending_omitted": 0,
      "image": [
        "wal/00000000000000000001.wal",
        "wal/00000000000000000004.wal",
        "wal/00000000000000000004.wal.broken",
        "wal/00000000000000000007.wal"
      ],
      "names_omitted": 0
    }
  ],
  "directories_omitted": 0,
  "recovery": [],
  "recovery_omitted": 0
};
