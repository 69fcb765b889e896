// Lab 4's zoo bug `hard-state-before-the-log-is-durable` (grader/zoo/lab4.toml), caught by the public test
// `commit::a_power_cut_at_every_step_of_commit_never_loses_an_acknowledged_commit`: the crash trace the grader attached to the report.
// Regenerate: COURSE_EXAMPLE_TRACES=write cargo test -p grader --test example_traces
window.CRASH_TRACE_EXAMPLES = window.CRASH_TRACE_EXAMPLES || {};
window.CRASH_TRACE_EXAMPLES["lab4-hard-state-before-the-log-is-durable"] = {
  "format": "durable-storage-crash-trace",
  "version": 1,
  "test": "commit::a_power_cut_at_every_step_of_commit_never_loses_an_acknowledged_commit",
  "replay": "LAB_SEED=0x8 cargo test -p lab4 --test public -- --exact commit::a_power_cut_at_every_step_of_commit_never_loses_an_acknowledged_commit",
  "explorer_seed": "0x8",
  "failure": {
    "invariant": "monotonic",
    "message": "[monotonic] after the crash the persisted commit index passes the durable log: [recovery-equivalence] the replica's files do not fit together: the persisted commit index lies past every entry held (snapshot SnapshotMeta { last_index: 0, last_term: 0 }, log 1..=0, commit 4)\n  replay: LAB_SEED=0x8 cargo test -p lab4 --test public -- --exact commit::a_power_cut_at_every_step_of_commit_never_loses_an_acknowledged_commit"
  },
  "crash": {
    "after_step": 11,
    "steps": 24,
    "mode": "strict",
    "mode_seed": null,
    "acked": 1
  },
  "steps": [
    {
      "step": 1,
      "op": "create_dir",
      "path": "replica/snapshots",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 2,
      "op": "create_dir",
      "path": "replica/log",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 3,
      "op": "create",
      "path": "replica/log/00000000000000000001.wal",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 4,
      "op": "set_len",
      "path": "replica/log/00000000000000000001.wal",
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
      "path": "replica/log/00000000000000000001.wal",
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
      "op": "create",
      "path": "replica/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 7,
      "op": "set_len",
      "path": "replica/hardstate.tmp",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 8,
      "op": "write",
      "path": "replica/hardstate.tmp",
      "offset": 0,
      "len": 40,
      "to": null,
      "data": {
        "hex": "52 53 4d 48 53 54 30 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 04 00 00 00",
        "text": "RSMHST01........................",
        "shown": 32,
        "len": 40
      },
      "failed": false,
      "acked": 0
    },
    {
      "step": 9,
      "op": "sync",
      "path": "replica/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 10,
      "op": "rename",
      "path": "replica/hardstate.tmp",
      "offset": null,
      "len": null,
      "to": "replica/hardstate",
      "data": null,
      "failed": false,
      "acked": 0
    },
    {
      "step": 11,
      "op": "sync_dir",
      "path": "replica",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    }
  ],
  "steps_omitted": 13,
  "files": [
    {
      "path": "replica/log/00000000000000000001.wal",
      "visible_names": [
        "replica/log/00000000000000000001.wal"
      ],
      "durable_names": [],
      "image_names": [],
      "durable_len": 0,
      "visible_len": 24,
      "image_len": null,
      "pending": [
        {
          "step": 4,
          "op": "set_len",
          "offset": null,
          "len": 0,
          "data": null,
          "kept": "none",
          "kept_ranges": []
        },
        {
          "step": 5,
          "op": "write",
          "offset": 0,
          "len": 24,
          "data": {
            "hex": "52 53 4d 57 41 4c 30 31 01 00 00 00 00 00 00 00 01 00 00 00 16 66 a2 93",
            "text": "RSMWAL01.............f..",
            "shown": 24,
            "len": 24
          },
          "kept": "none",
          "kept_ranges": []
        }
      ],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "replica/hardstate",
      "visible_names": [
        "replica/hardstate"
      ],
      "durable_names": [
        "replica/hardstate"
      ],
      "image_names": [
        "replica/hardstate"
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
      "path": "replica/log",
      "durable": [],
      "pending": [
        {
          "step": 3,
          "op": "create",
          "name": "replica/log/00000000000000000001.wal",
          "to": null,
          "kept": false
        }
      ],
      "pending_omitted": 0,
      "image": [],
      "names_omitted": 0
    },
    {
      "path": "replica",
      "durable": [
        "replica/hardstate"
      ],
      "pending": [],
      "pending_omitted": 0,
      "image": [
        "replica/hardstate"
      ],
      "names_omitted": 0
    }
  ],
  "directories_omitted": 0,
  "recovery": [],
  "recovery_omitted": 0
};
