//! Every answer of Finish and Release, and entries and images that are refused.

use distributed::invariant;
use distributed::storage::StateMachineStorage;
use lab6::{IdemError, IdemOp, IdemOutput, IdemStore, Outcome, Output, Request};

use crate::{apply, config, execute, incr, record};

#[test]
fn finish_and_release_answer_every_case_without_changing_what_they_should_not() {
    let mut store = IdemStore::new(config());
    let r = record("pay");
    let request = Request::new(r.clone(), b"pay 3");
    let other = Request::new(r.clone(), b"pay 4");
    let ok = Outcome::Success(b"receipt".to_vec());
    let no = apply(&mut store, 1_000, IdemOp::Finish { request: request.clone(), outcome: ok.clone() });
    invariant!("marker-resolution", no == IdemOutput::NoMarker, "Finish with no marker answered {no:?}");
    invariant!("marker-resolution", store.lookup(&r).is_none(), "Finish with no marker created a record");
    let none = apply(&mut store, 1_000, IdemOp::Release { request: request.clone(), attempt: 1 });
    invariant!("marker-resolution", none == IdemOutput::NoMarker, "Release with no marker answered {none:?}");
    apply(&mut store, 1_010, IdemOp::Begin { request: request.clone() });
    let conflict = apply(&mut store, 1_020, IdemOp::Finish { request: other.clone(), outcome: ok.clone() });
    invariant!(
        "fingerprint-conflict",
        matches!(conflict, IdemOutput::Conflict { .. }),
        "Finish with another body answered {conflict:?}"
    );
    let done = apply(&mut store, 1_030, IdemOp::Finish { request: request.clone(), outcome: ok.clone() });
    invariant!("same-result", done == IdemOutput::Completed(ok.clone()), "Finish answered {done:?}");
    let again =
        apply(&mut store, 1_040, IdemOp::Finish { request: request.clone(), outcome: Outcome::Failure("x".into()) });
    invariant!(
        "same-result",
        again == IdemOutput::AlreadyCompleted(ok.clone()),
        "a second Finish with another outcome answered {again:?}: the first outcome stays"
    );
    let late = apply(&mut store, 1_050, IdemOp::Release { request: request.clone(), attempt: 1 });
    invariant!("same-result", late == IdemOutput::AlreadyCompleted(ok), "Release after Finish answered {late:?}");
    let crossed = apply(&mut store, 1_060, execute(&r, incr("n", 1)));
    invariant!(
        "fingerprint-conflict",
        matches!(crossed, IdemOutput::Conflict { .. }),
        "an Execute under a side effect's record answered {crossed:?}"
    );
}

#[test]
fn a_stored_error_of_a_side_effect_is_replayed() {
    let mut store = IdemStore::new(config());
    let request = Request::new(record("pay"), b"pay 3");
    apply(&mut store, 1_000, IdemOp::Begin { request: request.clone() });
    let declined = Outcome::Failure("card declined".into());
    apply(&mut store, 1_001, IdemOp::Finish { request: request.clone(), outcome: declined.clone() });
    let retry = apply(&mut store, 1_002, IdemOp::Begin { request });
    invariant!(
        "same-result",
        retry == IdemOutput::AlreadyCompleted(declined),
        "a retry after a definitive refusal answered {retry:?}: the refusal is the answer, not a reason to call again"
    );
}

#[test]
fn empty_and_bad_entries_and_bad_images_are_handled_without_change() {
    let mut store = IdemStore::new(config());
    apply(&mut store, 1_000, execute(&record("a"), incr("n", 1)));
    let before = store.clone();
    let empty = store.apply(&[]).map(|b| IdemOutput::decode(&b));
    invariant!(
        "determinism",
        matches!(empty, Ok(Ok(IdemOutput::Plain(Output::Done)))) && store == before,
        "an empty entry (a leader's no-op) answered {empty:?} or changed the state"
    );
    let bad = store.apply(&[0xff, 0xff, 0xff]);
    invariant!(
        "determinism",
        matches!(bad, Err(IdemError::BadCommand(_))) && store == before,
        "garbage entry data gave {bad:?} or changed the state"
    );
    let image = distributed::invariant_ok!("determinism", store.snapshot(), "snapshot");
    let mut longer = image.clone();
    longer.push(0);
    for (what, bytes) in [("one byte more", longer), ("empty", Vec::new()), ("garbage", vec![0xff; 40])] {
        let mut target = before.clone();
        let result = target.restore(&bytes);
        invariant!(
            "recovery-equivalence",
            matches!(result, Err(IdemError::BadImage(_))) && target == before,
            "restoring an image that is {what} gave {result:?} or changed the state"
        );
    }
}
