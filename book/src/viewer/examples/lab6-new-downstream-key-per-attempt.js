// Lab 6's zoo bug `new-downstream-key-per-attempt` (grader/zoo/lab6.toml), caught by the public test
// `crash::a_crash_during_a_side_effect_resumes_with_the_same_downstream_key`: the crash trace the grader attached to the report.
// Regenerate: COURSE_EXAMPLE_TRACES=write cargo test -p grader --test example_traces
window.CRASH_TRACE_EXAMPLES = window.CRASH_TRACE_EXAMPLES || {};
window.CRASH_TRACE_EXAMPLES["lab6-new-downstream-key-per-attempt"] = {
  "format": "durable-storage-crash-trace",
  "version": 1,
  "test": "crash::a_crash_during_a_side_effect_resumes_with_the_same_downstream_key",
  "replay": "LAB_SEED=0x41 cargo test -p lab6 --test public -- --exact crash::a_crash_during_a_side_effect_resumes_with_the_same_downstream_key",
  "explorer_seed": "0x41",
  "failure": {
    "invariant": "exactly-once",
    "message": "[exactly-once] payment 0 reached the other system under 2 downstream keys {DownstreamKey(\"payments/acct-1/p0@1000\"), DownstreamKey(\"payments/acct-1/p0@1000#2\")}: a retry after a crash must resume the marker with the same key, or the payment is performed twice\n  replay: LAB_SEED=0x41 cargo test -p lab6 --test public -- --exact crash::a_crash_during_a_side_effect_resumes_with_the_same_downstream_key"
  },
  "crash": {
    "after_step": 21,
    "steps": 76,
    "mode": "strict",
    "mode_seed": null,
    "acked": 1
  },
  "steps": [
    {
      "step": 10,
      "op": "set_len",
      "path": "service/log/00000000000000000001.wal",
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
      "path": "service/log/00000000000000000001.wal",
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
      "step": 12,
      "op": "write",
      "path": "service/log/00000000000000000001.wal",
      "offset": 24,
      "len": 56,
      "to": null,
      "data": {
        "hex": "30 00 00 00 f4 f1 55 5f 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 e8 07 02 08 70 61 79 6d",
        "text": "0.....U_....................paym",
        "shown": 32,
        "len": 56
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 13,
      "op": "sync",
      "path": "service/log/00000000000000000001.wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 14,
      "op": "sync_dir",
      "path": "service/log",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 15,
      "op": "create",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 16,
      "op": "set_len",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 17,
      "op": "write",
      "path": "service/hardstate.tmp",
      "offset": 0,
      "len": 40,
      "to": null,
      "data": {
        "hex": "52 53 4d 48 53 54 30 31 01 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 01 00 00 00",
        "text": "RSMHST01........................",
        "shown": 32,
        "len": 40
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 18,
      "op": "sync",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 19,
      "op": "rename",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": "service/hardstate",
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 20,
      "op": "sync_dir",
      "path": "service",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 21,
      "op": "write",
      "path": "service/log/00000000000000000001.wal",
      "offset": 80,
      "len": 69,
      "to": null,
      "data": {
        "hex": "3d 00 00 00 20 a0 fc 65 02 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 e8 07 03 08 70 61 79 6d",
        "text": "=... ..e....................paym",
        "shown": 32,
        "len": 69
      },
      "failed": false,
      "acked": 1
    }
  ],
  "steps_omitted": 64,
  "files": [
    {
      "path": "service/log/00000000000000000001.wal",
      "visible_names": [
        "service/log/00000000000000000001.wal"
      ],
      "durable_names": [
        "service/log/00000000000000000001.wal"
      ],
      "image_names": [
        "service/log/00000000000000000001.wal"
      ],
      "durable_len": 80,
      "visible_len": 149,
      "image_len": 80,
      "pending": [
        {
          "step": 21,
          "op": "write",
          "offset": 80,
          "len": 69,
          "data": {
            "hex": "3d 00 00 00 20 a0 fc 65 02 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 e8 07 03 08 70 61 79 6d",
            "text": "=... ..e....................paym",
            "shown": 32,
            "len": 69
          },
          "kept": "none",
          "kept_ranges": []
        }
      ],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "service/hardstate",
      "visible_names": [
        "service/hardstate"
      ],
      "durable_names": [
        "service/hardstate"
      ],
      "image_names": [
        "service/hardstate"
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
      "path": "service",
      "durable": [
        "service/hardstate"
      ],
      "pending": [],
      "pending_omitted": 0,
      "image": [
        "service/hardstate"
      ],
      "names_omitted": 0
    },
    {
      "path": "service/log",
      "durable": [
        "service/log/00000000000000000001.wal"
      ],
      "pending": [],
      "pending_omitted": 0,
      "image": [
        "service/log/00000000000000000001.wal"
      ],
      "names_omitted": 0
    }
  ],
  "directories_omitted": 0,
  "recovery": [
    {
      "step": 1,
      "op": "write",
      "path": "service/log/00000000000000000001.wal",
      "offset": 80,
      "len": 56,
      "to": null,
      "data": {
        "hex": "30 00 00 00 cd 9c c5 9f 02 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 b8 17 02 08 70 61 79 6d",
        "text": "0...........................paym",
        "shown": 32,
        "len": 56
      },
      "failed": false,
      "acked": null
    },
    {
      "step": 2,
      "op": "sync",
      "path": "service/log/00000000000000000001.wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 3,
      "op": "create",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 4,
      "op": "set_len",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 5,
      "op": "write",
      "path": "service/hardstate.tmp",
      "offset": 0,
      "len": 40,
      "to": null,
      "data": {
        "hex": "52 53 4d 48 53 54 30 31 01 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 02 00 00 00",
        "text": "RSMHST01........................",
        "shown": 32,
        "len": 40
      },
      "failed": false,
      "acked": null
    },
    {
      "step": 6,
      "op": "sync",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 7,
      "op": "rename",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": "service/hardstate",
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 8,
      "op": "sync_dir",
      "path": "service",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 9,
      "op": "write",
      "path": "service/log/00000000000000000001.wal",
      "offset": 136,
      "len": 69,
      "to": null,
      "data": {
        "hex": "3d 00 00 00 8a 4f df 09 03 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 b8 17 03 08 70 61 79 6d",
        "text": "=....O......................paym",
        "shown": 32,
        "len": 69
      },
      "failed": false,
      "acked": null
    },
    {
      "step": 10,
      "op": "sync",
      "path": "service/log/00000000000000000001.wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 11,
      "op": "create",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 12,
      "op": "set_len",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 13,
      "op": "write",
      "path": "service/hardstate.tmp",
      "offset": 0,
      "len": 40,
      "to": null,
      "data": {
        "hex": "52 53 4d 48 53 54 30 31 01 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 03 00 00 00",
        "text": "RSMHST01........................",
        "shown": 32,
        "len": 40
      },
      "failed": false,
      "acked": null
    },
    {
      "step": 14,
      "op": "sync",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 15,
      "op": "rename",
      "path": "service/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": "service/hardstate",
      "data": null,
      "failed": false,
      "acked": null
    },
    {
      "step": 16,
      "op": "sync_dir",
      "path": "service",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": null
    }
  ],
  "recovery_omitted": 0
};
