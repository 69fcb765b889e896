use distributed::storage::Index;

use crate::machine::MachineError;

/// Why a read was not served. A read that cannot be answered correctly is answered with one
/// of these, never with an older state than it asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Recovery had not finished by the deadline: the replay after open had not reached the
    /// commit index persisted before the restart.
    #[error(
        "[read-barrier] not ready: replay has applied up to {last_applied} of {replay_target}, \
         so the read with read index {read_index} was not served"
    )]
    NotReady {
        /// The commit index when the read arrived.
        read_index: Index,
        /// How far the state was when the deadline passed.
        last_applied: Index,
        /// The commit index found on open, which replay must reach.
        replay_target: Index,
    },
    /// Recovery was done, but `last_applied` had not reached the read index by the deadline.
    #[error(
        "[read-barrier] timed out: last_applied ({last_applied}) did not reach the read index \
         ({read_index}) before the deadline"
    )]
    Timeout {
        /// The commit index when the read arrived.
        read_index: Index,
        /// How far the state was when the deadline passed.
        last_applied: Index,
    },
    /// A degraded read whose caller had already seen a newer state than the node holds.
    #[error("[monotonic] the state is at index {last_applied}, older than index {at_least} already seen")]
    Behind {
        /// The index the caller had seen.
        at_least: Index,
        /// The node's `last_applied`.
        last_applied: Index,
    },
    /// The applier failed; the node serves no more reads until it is reopened.
    #[error("[fail-stop] the applier failed ({0}); reopen the node")]
    Failed(String),
}

/// Why a write or an apply through the node failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The replica refused or failed (lab 4's error, kept whole).
    #[error("replica: {0}")]
    Replica(MachineError),
    /// An earlier apply failed: the state can no longer be vouched for.
    #[error("[fail-stop] the applier failed earlier ({0}); reopen the node")]
    Failed(String),
    /// The applier thread panicked.
    #[error("the applier thread panicked")]
    ApplierPanicked,
}
