// Lab 7's zoo bug `gc-before-the-new-manifest-is-durable` (grader/zoo/lab7.toml), caught by the public test
// `gc::a_power_cut_at_every_step_of_gc_never_breaks_the_durable_manifest`: the crash trace the grader attached to the report.
// Regenerate: COURSE_EXAMPLE_TRACES=write cargo test -p grader --test example_traces
window.CRASH_TRACE_EXAMPLES = window.CRASH_TRACE_EXAMPLES || {};
window.CRASH_TRACE_EXAMPLES["lab7-gc-before-the-new-manifest-is-durable"] = {
  "format": "durable-storage-crash-trace",
  "version": 1,
  "test": "gc::a_power_cut_at_every_step_of_gc_never_breaks_the_durable_manifest",
  "replay": "LAB_SEED=0x7041 cargo test -p lab7 --test public -- --exact gc::a_power_cut_at_every_step_of_gc_never_breaks_the_durable_manifest",
  "explorer_seed": "0x7041",
  "failure": {
    "invariant": "gc-safety",
    "message": "[gc-safety] the durable manifest lists chunk 31287df799ae4616ef8cc420c6d2e04fbbf636c4ef630d820d1274ee71393a40, which is gone: store/chunks/31287df799ae4616ef8cc420c6d2e04fbbf636c4ef630d820d1274ee71393a40: no such file or directory\n  replay: LAB_SEED=0x7041 cargo test -p lab7 --test public -- --exact gc::a_power_cut_at_every_step_of_gc_never_breaks_the_durable_manifest"
  },
  "crash": {
    "after_step": 51,
    "steps": 93,
    "mode": "reordered",
    "mode_seed": "0xa894ffe56a032574",
    "acked": 1
  },
  "steps": [
    {
      "step": 40,
      "op": "create",
      "path": "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 41,
      "op": "set_len",
      "path": "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0.tmp",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 42,
      "op": "write",
      "path": "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0.tmp",
      "offset": 0,
      "len": 39,
      "to": null,
      "data": {
        "hex": "52 53 4d 43 48 4b 30 31 01 00 00 00 0a 00 00 00 0b 00 00 00 b9 e9 57 17 72 5c 53 cd a0 01 02 6b",
        "text": "RSMCHK01..............W.r\\S....k",
        "shown": 32,
        "len": 39
      },
      "failed": false,
      "acked": 1
    },
    {
      "step": 43,
      "op": "sync",
      "path": "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 44,
      "op": "rename",
      "path": "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0.tmp",
      "offset": null,
      "len": null,
      "to": "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0",
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 45,
      "op": "create",
      "path": "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 46,
      "op": "set_len",
      "path": "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de.tmp",
      "offset": null,
      "len": 0,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 47,
      "op": "write",
      "path": "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de.tmp",
      "offset": 0,
      "len": 48,
      "to": null,
      "data": {
        "hex": "52 53 4d 43 48 4b 30 31 01 00 00 00 12 00 00 00 14 00 00 00 ef 4e 15 44 a5 d2 a0 60 f0 03 02 02",
        "text": "RSMCHK01.............N.D...`....",
        "shown": 32,
        "len": 48
      },
      "failed": false,
      "acked": 1
    },
    {
      "step": 48,
      "op": "sync",
      "path": "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de.tmp",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 49,
      "op": "rename",
      "path": "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de.tmp",
      "offset": null,
      "len": null,
      "to": "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de",
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 50,
      "op": "sync_dir",
      "path": "store/chunks",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    },
    {
      "step": 51,
      "op": "remove",
      "path": "store/chunks/31287df799ae4616ef8cc420c6d2e04fbbf636c4ef630d820d1274ee71393a40",
      "offset": null,
      "len": null,
      "to": null,
      "data": null,
      "failed": false,
      "acked": 1
    }
  ],
  "steps_omitted": 81,
  "files": [
    {
      "path": "store/MANIFEST",
      "visible_names": [
        "store/MANIFEST"
      ],
      "durable_names": [
        "store/MANIFEST"
      ],
      "image_names": [
        "store/MANIFEST"
      ],
      "durable_len": 149,
      "visible_len": 149,
      "image_len": 149,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "store/chunks/1f3a6097c3508352725cb0487be605510c7f0cb26f328bd8678c7891125538bf",
      "visible_names": [
        "store/chunks/1f3a6097c3508352725cb0487be605510c7f0cb26f328bd8678c7891125538bf"
      ],
      "durable_names": [
        "store/chunks/1f3a6097c3508352725cb0487be605510c7f0cb26f328bd8678c7891125538bf"
      ],
      "image_names": [
        "store/chunks/1f3a6097c3508352725cb0487be605510c7f0cb26f328bd8678c7891125538bf"
      ],
      "durable_len": 84,
      "visible_len": 84,
      "image_len": 84,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "store/chunks/31287df799ae4616ef8cc420c6d2e04fbbf636c4ef630d820d1274ee71393a40",
      "visible_names": [],
      "durable_names": [
        "store/chunks/31287df799ae4616ef8cc420c6d2e04fbbf636c4ef630d820d1274ee71393a40"
      ],
      "image_names": [],
      "durable_len": 48,
      "visible_len": 48,
      "image_len": null,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0",
      "visible_names": [
        "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0"
      ],
      "durable_names": [
        "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0"
      ],
      "image_names": [
        "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0"
      ],
      "durable_len": 39,
      "visible_len": 39,
      "image_len": 39,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "store/chunks/6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "visible_names": [
        "store/chunks/6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
      ],
      "durable_names": [
        "store/chunks/6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
      ],
      "image_names": [
        "store/chunks/6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
      ],
      "durable_len": 30,
      "visible_len": 30,
      "image_len": 30,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "store/chunks/959efce5139cff3ba2c8c33622554f7a835759543b1cdda5acce375d4f578c88",
      "visible_names": [
        "store/chunks/959efce5139cff3ba2c8c33622554f7a835759543b1cdda5acce375d4f578c88"
      ],
      "durable_names": [
        "store/chunks/959efce5139cff3ba2c8c33622554f7a835759543b1cdda5acce375d4f578c88"
      ],
      "image_names": [
        "store/chunks/959efce5139cff3ba2c8c33622554f7a835759543b1cdda5acce375d4f578c88"
      ],
      "durable_len": 39,
      "visible_len": 39,
      "image_len": 39,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "store/chunks/9d1e2cef9a42f25f6b3e317f77c9160d97f495b48c27b28aa1614d77ddb93bb6",
      "visible_names": [
        "store/chunks/9d1e2cef9a42f25f6b3e317f77c9160d97f495b48c27b28aa1614d77ddb93bb6"
      ],
      "durable_names": [
        "store/chunks/9d1e2cef9a42f25f6b3e317f77c9160d97f495b48c27b28aa1614d77ddb93bb6"
      ],
      "image_names": [
        "store/chunks/9d1e2cef9a42f25f6b3e317f77c9160d97f495b48c27b28aa1614d77ddb93bb6"
      ],
      "durable_len": 39,
      "visible_len": 39,
      "image_len": 39,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "store/chunks/e480826f0bfb10d5368b9b11ce1f2c6204e1a015f40996e334f61b66be34ba73",
      "visible_names": [
        "store/chunks/e480826f0bfb10d5368b9b11ce1f2c6204e1a015f40996e334f61b66be34ba73"
      ],
      "durable_names": [
        "store/chunks/e480826f0bfb10d5368b9b11ce1f2c6204e1a015f40996e334f61b66be34ba73"
      ],
      "image_names": [
        "store/chunks/e480826f0bfb10d5368b9b11ce1f2c6204e1a015f40996e334f61b66be34ba73"
      ],
      "durable_len": 85,
      "visible_len": 85,
      "image_len": 85,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    },
    {
      "path": "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de",
      "visible_names": [
        "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de"
      ],
      "durable_names": [
        "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de"
      ],
      "image_names": [
        "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de"
      ],
      "durable_len": 48,
      "visible_len": 48,
      "image_len": 48,
      "pending": [],
      "pending_omitted": 0,
      "grown": null
    }
  ],
  "files_omitted": 0,
  "directories": [
    {
      "path": "store/chunks",
      "durable": [
        "store/chunks/1f3a6097c3508352725cb0487be605510c7f0cb26f328bd8678c7891125538bf",
        "store/chunks/31287df799ae4616ef8cc420c6d2e04fbbf636c4ef630d820d1274ee71393a40",
        "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0",
        "store/chunks/6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "store/chunks/959efce5139cff3ba2c8c33622554f7a835759543b1cdda5acce375d4f578c88",
        "store/chunks/9d1e2cef9a42f25f6b3e317f77c9160d97f495b48c27b28aa1614d77ddb93bb6",
        "store/chunks/e480826f0bfb10d5368b9b11ce1f2c6204e1a015f40996e334f61b66be34ba73",
        "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de"
      ],
      "pending": [
        {
          "step": 51,
          "op": "remove",
          "name": "store/chunks/31287df799ae4616ef8cc420c6d2e04fbbf636c4ef630d820d1274ee71393a40",
          "to": null,
          "kept": true
        }
      ],
      "pending_omitted": 0,
      "image": [
        "store/chunks/1f3a6097c3508352725cb0487be605510c7f0cb26f328bd8678c7891125538bf",
        "store/chunks/44988d362a51379d76f2fbfb0ee57c57ec13f6747a3c6ba795c2314a1d0a15e0",
        "store/chunks/6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "store/chunks/959efce5139cff3ba2c8c33622554f7a835759543b1cdda5acce375d4f578c88",
        "store/chunks/9d1e2cef9a42f25f6b3e317f77c9160d97f495b48c27b28aa1614d77ddb93bb6",
        "store/chunks/e480826f0bfb10d5368b9b11ce1f2c6204e1a015f40996e334f61b66be34ba73",
        "store/chunks/e8f8f21c73a793129669e7e271bb93d03b4ddf6176d989a34867d559572a20de"
      ],
      "names_omitted": 0
    },
    {
      "path": "store",
      "durable": [
        "store/MANIFEST"
      ],
      "pending": [],
      "pending_omitted": 0,
      "image": [
        "store/MANIFEST"
      ],
      "names_omitted": 0
    }
  ],
  "directories_omitted": 0,
  "recovery": [],
  "recovery_omitted": 0
};
