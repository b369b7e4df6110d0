//! Integration tests of the files service over gRPC, each against its own database and its
//! own store: a temporary directory, or a fresh bucket of the local SeaweedFS (S3).

mod attachments;
mod downloads;
mod helpers;
mod images;
mod startup;
mod sweeper;
mod uploads;
