//! The DynamoDB adapter against moto: the ports' contract (the same suite the in-memory fakes
//! pass), the feed's search index, batch writes left unprocessed, and the ledger's own guarantees under repetition, races and lost answers.

mod accounts;
mod batch;
mod contract;
mod ledger;
mod search;
