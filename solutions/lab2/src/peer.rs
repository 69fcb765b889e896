//! Where a damaged range comes back from.

use distributed::storage::{Entry, Index};

use crate::PeerError;

/// Another replica of the same log, from which lost entries can be fetched: in a real system
/// an RPC to a follower or the leader; in the tests, a log in memory (sometimes a lying one).
pub trait Peer {
    /// The entries with indexes in `low..high`, in order.
    fn entries(&self, low: Index, high: Index) -> Result<Vec<Entry>, PeerError>;
}

impl<P: Peer + ?Sized> Peer for &P {
    fn entries(&self, low: Index, high: Index) -> Result<Vec<Entry>, PeerError> {
        (**self).entries(low, high)
    }
}
