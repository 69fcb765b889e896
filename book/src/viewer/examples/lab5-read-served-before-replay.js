// Lab 5's zoo bug `read-served-before-replay` (grader/zoo/lab5.toml), caught by the public test
// `recovery::reads_never_go_back_in_time_at_any_crash_point`: the crash trace the grader attached to the report.
// Regenerate: COURSE_EXAMPLE_TRACES=write cargo test -p grader --test example_traces
window.CRASH_TRACE_EXAMPLES = window.CRASH_TRACE_EXAMPLES || {};
window.CRASH_TRACE_EXAMPLES["lab5-read-served-before-replay"] = {
  "format": "durable-storage-crash-trace",
  "version": 1,
  "test": "recovery::reads_never_go_back_in_time_at_any_crash_point",
  "replay": "LAB_SEED=0xb cargo test -p lab5 --test public -- --exact recovery::reads_never_go_back_in_time_at_any_crash_point",
  "explorer_seed": "0xb",
  "failure": {
    "invariant": "monotonic",
    "message": "[monotonic] after a crash, a read before any replay answered index 0 but index 1 was answered before the crash\n  replay: LAB_SEED=0xb cargo test -p lab5 --test public -- --exact recovery::reads_never_go_back_in_time_at_any_crash_point"
  },
  "crash": {
    "after_step": 15,
    "steps": 46,
    "mode": "strict",
    "mode_seed": null,
    "acked": 1
  },
  "steps": [
    {
      "step": 4,
      "op": "set_len",
      "path": "node/log/00000000000000000001.wal",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 5,
      "op": "write",
      "path": "node/log/00000000000000000001.wal",
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
      "step": 6,
      "op": "write",
      "path": "node/log/00000000000000000001.wal",
      "offset": 24,
      "len": 32,
      "to": null,
      "data": {
        "hex": "18 00 00 00 53 d2 24 6c 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01 01 02 6b 31 02 76 31",
        "text": "....S.$l...................k1.v1",
        "shown": 32,
        "len": 32
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 7,
      "op": "sync",
      "path": "node/log/00000000000000000001.wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 8,
      "op": "sync_dir",
      "path": "node/log",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 9,
      "op": "create",
      "path": "node/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 10,
      "op": "set_len",
      "path": "node/hardstate.tmp",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 11,
      "op": "write",
      "path": "node/hardstate.tmp",
      "offset": 0,
      "len": 40,
      "to": null,
      "data": {
        "hex": "52 53 4d 48 53 54 30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00",
        "text": "RSMHST01........................",
        "shown": 32,
        "len": 40
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 12,
      "op": "sync",
      "path": "node/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 13,
      "op": "rename",
      "path": "node/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": "node/hardstate",
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 14,
      "op": "sync_dir",
      "path": "node",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 15,
      "op": "write",
      "path": "node/log/00000000000000000001.wal",
      "offset": 56,
      "len": 32,
      "to": null,
      "data": {
        "hex": "18 00 00 00 cc 82 09 31 02 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 02 01 02 6b 32 02 76 32",
        "text": ".......1...................k2.v2",
        "shown": 32,
        "len": 32
      },
      "failed": false,
      "acked": 1
    }
  ],
  "steps_omitted": 34,
  "files": [
    {
      "path": "node/log/00000000000000000001.wal",
      "visible_names": [
        "node/log/00000000000000000001.wal"
      ],
      "durable_names": [
        "node/log/00000000000000000001.wal"
      ],
      "image_names": [
        "node/log/00000000000000000001.wal"
      ],
      "durable_len": 56,
      "visible_len": 88,
      "image_len": 56,
      "pending": [
        {
          "step": 15,
          "op": "write",
          "offset": 56,
          "len": 32,
          "data": {
            "hex": "18 00 00 00 cc 82 09 31 02 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 02 01 02 6b 32 02 76 32",
            "text": ".......1...................k2.v2",
            "shown": 32,
            "len": 32
          },
          "kept": "none",
          "kept_ranges": []
        }
      ],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "node/hardstate",
      "visible_names": [
        "node/hardstate"
      ],
      "durable_names": [
        "node/hardstate"
      ],
      "image_names": [
        "node/hardstate"
      ],
      "durable_len": 40,
      "visible_len": 40,
      "image_len": 40,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    }
  ],
  "files_omitted": 0,
  "directories": [
    {
      "path": "node",
      "durable": [
        "node/hardstate"
      ],
      "pending": [],
      "pending_omitted": 0,
      "image": [
        "node/hardstate"
      ],
      "names_omitted": 0
    },
    {
      "path": "node/log",
      "durable": [
        "node/log/00000000000000000001.wal"
      ],
      "pending": [],
      "pending_omitted": 0,
      "image": [
        "node/log/00000000000000000001.wal"
      ],
      "names_omitted": 0
    }
  ],
  "directories_omitted": 0,
  "recovery": [],
  "recovery_omitted": 0
};
