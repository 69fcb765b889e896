use lab4::ReplicaError;

/// Why the idempotency store could not apply an entry or restore an image.
///
/// These are failures, not answers: a conflict or a record in progress is an
/// [`crate::IdemOutput`]. A replica that meets an `IdemError` stops applying, because the log
/// or the snapshot holds something no correct leader wrote.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdemError {
    /// An entry's data is not an encoded [`crate::IdemCommand`].
    #[error("entry data is not an idempotency command: {0}")]
    BadCommand(String),
    /// A snapshot image is not one [`crate::IdemStore`] wrote.
    #[error("snapshot image is not an idempotency store: {0}")]
    BadImage(String),
}

/// Why a [`crate::Service`] operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The replica failed (lab 4): a write, a sync, or applying an entry.
    #[error("replica: {0}")]
    Replica(#[from] ReplicaError),
    /// The output of an applied entry is not an encoded [`crate::IdemOutput`].
    #[error("state machine: {0}")]
    State(#[from] IdemError),
}
