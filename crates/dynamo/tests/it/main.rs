//! The DynamoDB adapter against moto: the ports' contract (the same suite the in-memory fakes
//! pass), and the ledger's own guarantees under repetition, races and lost answers.

mod accounts;
mod contract;
mod ledger;
