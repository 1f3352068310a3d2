//! `DynamoStore` keeps the ports' contract, each check on a fresh table.

artforge_fakes::contract_tests!(artforge_testkit::fresh_store().await);
