//! The table's shape, in one place: the local stack and the tests create tables from it, and a
//! test holds it equal to the `AWS::DynamoDB::Table` in `template.yaml`.

use aws_sdk_dynamodb::{
    Client,
    error::SdkError,
    operation::create_table::CreateTableError,
    types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
    },
};

/// A key attribute: its name and DynamoDB scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: &'static str,
    pub kind: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexShape {
    pub name: &'static str,
    pub partition: KeyAttribute,
    pub sort: KeyAttribute,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableShape {
    pub partition: KeyAttribute,
    pub sort: KeyAttribute,
    pub indexes: &'static [IndexShape],
    pub ttl_attribute: &'static str,
    /// `PAY_PER_REQUEST` (on-demand) or `PROVISIONED`.
    pub billing_mode: &'static str,
}

pub const GSI1: &str = "gsi1";

pub const TABLE: TableShape = TableShape {
    partition: KeyAttribute {
        name: "pk",
        kind: "S",
    },
    sort: KeyAttribute {
        name: "sk",
        kind: "S",
    },
    indexes: &[IndexShape {
        name: GSI1,
        partition: KeyAttribute {
            name: "gsi1pk",
            kind: "S",
        },
        sort: KeyAttribute {
            name: "gsi1sk",
            kind: "S",
        },
        projection: "ALL",
    }],
    ttl_attribute: "expiresAt",
    billing_mode: "PAY_PER_REQUEST",
};

/// The table's partitions, by how their partition keys begin (`keys.rs`): a user's items
/// (`USER#<id>`), the unique-email locks (`EMAIL#`), failed logins (`LOGIN#`), the Stripe
/// payment index (`PAYMENT#`) and the service's daily spend (`SPEND`, the whole key). The
/// functions' policies in `template.yaml` limit each to some of these (`dynamodb:LeadingKeys`;
/// a test holds them to this list).
pub const PARTITIONS: &[&str] = &[
    "USER#",
    "EMAIL#",
    "LOGIN#",
    "RATE#",
    "PAYMENT#",
    crate::keys::SPEND,
    "MODEL#",
];

fn definition(
    attribute: KeyAttribute,
) -> Result<AttributeDefinition, aws_sdk_dynamodb::error::BuildError> {
    AttributeDefinition::builder()
        .attribute_name(attribute.name)
        .attribute_type(ScalarAttributeType::from(attribute.kind))
        .build()
}

fn key(
    attribute: KeyAttribute,
    kind: KeyType,
) -> Result<KeySchemaElement, aws_sdk_dynamodb::error::BuildError> {
    KeySchemaElement::builder()
        .attribute_name(attribute.name)
        .key_type(kind)
        .build()
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the table definition is invalid")]
    Build(#[from] aws_sdk_dynamodb::error::BuildError),
    #[error("creating the table failed")]
    Create(#[from] Box<SdkError<CreateTableError>>),
    #[error("enabling time to live failed")]
    Ttl(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Creates a table named `name` with [`TABLE`]'s shape, and turns on its TTL.
pub async fn create_table(client: &Client, name: &str) -> Result<(), CreateError> {
    let shape = TABLE;
    let mut attributes = vec![definition(shape.partition)?, definition(shape.sort)?];
    let mut indexes = Vec::new();
    for index in shape.indexes {
        attributes.push(definition(index.partition)?);
        attributes.push(definition(index.sort)?);
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.partition, KeyType::Hash)?)
                .key_schema(key(index.sort, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection))
                        .build(),
                )
                .build()?,
        );
    }
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(shape.billing_mode))
        .set_attribute_definitions(Some(attributes))
        .key_schema(key(shape.partition, KeyType::Hash)?)
        .key_schema(key(shape.sort, KeyType::Range)?)
        .set_global_secondary_indexes(Some(indexes))
        .send()
        .await
        .map_err(Box::new)?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(shape.ttl_attribute)
                .build()?,
        )
        .send()
        .await
        .map_err(|e| CreateError::Ttl(Box::new(e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use artforge_domain::{Email, UserId};

    use super::PARTITIONS;
    use crate::keys;

    #[test]
    fn every_partition_key_the_store_writes_begins_as_one_listed() {
        let email = Email::parse("ada@example.com").expect("an email");
        for key in [
            keys::user(UserId::new()),
            keys::email_lock(&email),
            keys::login_attempts(&email),
            keys::rate(&artforge_domain::RateKey::SignupsFrom(
                artforge_domain::ClientAddress::parse("203.0.113.9").expect("an address"),
            )),
            keys::payment("pi_1"),
            keys::SPEND.to_owned(),
            keys::model("gpt-image-2.6-flare"),
        ] {
            assert!(
                PARTITIONS.iter().any(|p| key.starts_with(p)),
                "{key} is in no listed partition"
            );
        }
    }
}
