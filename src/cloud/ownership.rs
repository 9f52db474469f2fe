//! Whose an image is: `GET /v2/cloudimages?id=<id>` without the private-image filters, so an
//! image shared with the project, another project's or a public one is found too (as far as
//! IMS shows it to this project), with its `owner` and `__imagetype`. For refusals that say
//! what an id is rather than only that it is not the project's private image.

use serde_json::Value;

use super::client::Client;
use super::wire::text;
use super::{CloudError, request};

/// What a read by id found of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    pub owner: String,
    /// `private`, `shared`, `gold` or `market`; empty when IMS does not say.
    pub image_type: String,
}

/// The ownership of the image with `id` in a list answer; `None` when it is not there.
pub fn parse_ownership(body: &Value, id: &str) -> Option<Ownership> {
    let image = body
        .get("images")?
        .as_array()?
        .iter()
        .find(|image| image.get("id").and_then(Value::as_str) == Some(id))?;
    Some(Ownership {
        owner: text(image, "owner").unwrap_or_default(),
        image_type: text(image, "__imagetype").unwrap_or_default(),
    })
}

impl Client {
    /// The ownership of image `id` as this project sees it; `None` when IMS shows no such
    /// image.
    pub async fn ownership(&self, id: &str) -> Result<Option<Ownership>, CloudError> {
        let request = request::get_image(id);
        let response = self.ims(&request, &[200]).await?;
        Ok(parse_ownership(&response.json(request.operation)?, id))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn owner_and_type_of_the_image_asked_for() {
        let body = json!({"images": [
            {"id": "a", "owner": "p1", "__imagetype": "shared"},
            {"id": "b", "owner": "p2"}
        ]});
        let found = parse_ownership(&body, "a").unwrap();
        assert_eq!(
            (found.owner.as_str(), found.image_type.as_str()),
            ("p1", "shared")
        );
        assert_eq!(parse_ownership(&body, "b").unwrap().image_type, "");
        assert_eq!(parse_ownership(&body, "c"), None);
        assert_eq!(parse_ownership(&json!({}), "a"), None);
    }
}
