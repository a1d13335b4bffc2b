//! `multipart/form-data` bodies, read as Django REST framework's `MultiPartParser` reads them:
//! how DRF clients upload a file (`curl -F file=@emerging.rules.tar.gz`, `requests.post(…,
//! files={"file": f})`). The gateway has already bounded and buffered the body; here the parts
//! are bounded again in number and text fields in size, and anything malformed is a 400 that
//! says what is wrong.

use bytes::Bytes;

/// Parts a form may have. An upload needs two or three (the file, a comment, a file name).
pub const MAX_PARTS: usize = 16;
/// Bytes a text field may hold (a comment is at most 10,000 characters).
pub const MAX_TEXT_BYTES: u64 = 64 * 1024;

/// A form's parts: its files (parts with a file name) and its text fields, in body order.
#[derive(Debug, Default, PartialEq)]
pub struct Form {
    pub files: Vec<FilePart>,
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, PartialEq)]
pub struct FilePart {
    /// The part's name (`file` in `-F file=@x`).
    pub name: String,
    /// The file's own name, without any directory a client sent with it.
    pub file_name: String,
    pub bytes: Bytes,
}

impl Form {
    /// The last text field of that name, as DRF's `request.data[name]` gives it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What is wrong with a form body, said for the caller to fix.
#[derive(Debug, PartialEq)]
pub struct FormError(pub String);

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `Some(boundary)` when the content type is `multipart/form-data`; `None` for any other type
/// (the body is then read as it is); an error for a multipart type without a usable boundary.
pub fn boundary(content_type: Option<&str>) -> Option<Result<String, FormError>> {
    let ct = content_type?;
    let essence = ct.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    Some(multer::parse_boundary(ct).map_err(|e| {
        FormError(format!(
            "the Content-Type multipart/form-data needs a boundary parameter: {e}"
        ))
    }))
}

/// Reads every part of a buffered `multipart/form-data` body. A part with a file name is a
/// file; so is a part named `file` without one (`curl -F 'file=<emerging.rules'` sends the
/// contents as a text field), which keeps the name `file`.
pub async fn read(body: Bytes, boundary: &str) -> Result<Form, FormError> {
    let bad =
        |e: multer::Error| FormError(format!("the body is not valid multipart/form-data: {e}"));
    let stream = futures::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut form = Form::default();
    let mut count = 0;
    while let Some(part) = parts.next_field().await.map_err(bad)? {
        count += 1;
        if count > MAX_PARTS {
            return Err(FormError(format!(
                "the form has more than {MAX_PARTS} parts"
            )));
        }
        let Some(name) = part.name().map(str::to_owned) else {
            return Err(FormError(
                "a part of the form has no name (Content-Disposition: form-data; name=\"…\")"
                    .into(),
            ));
        };
        let file_name = part.file_name().map(base_name);
        match file_name {
            Some(file_name) => {
                let bytes = part.bytes().await.map_err(bad)?;
                form.files.push(FilePart {
                    name,
                    file_name,
                    bytes,
                });
            }
            None if name == "file" => {
                let bytes = part.bytes().await.map_err(bad)?;
                form.files.push(FilePart {
                    name,
                    file_name: String::new(),
                    bytes,
                });
            }
            None => {
                let bytes = bounded(part, &name).await?;
                let text = String::from_utf8(bytes.to_vec())
                    .map_err(|_| FormError(format!("the form field {name:?} is not UTF-8 text")))?;
                form.fields.push((name, text));
            }
        }
    }
    Ok(form)
}

/// A text field's bytes, refused past [`MAX_TEXT_BYTES`] without reading further.
async fn bounded(mut part: multer::Field<'_>, name: &str) -> Result<Bytes, FormError> {
    let mut out = Vec::new();
    while let Some(chunk) = part
        .chunk()
        .await
        .map_err(|e| FormError(format!("the body is not valid multipart/form-data: {e}")))?
    {
        if (out.len() + chunk.len()) as u64 > MAX_TEXT_BYTES {
            return Err(FormError(format!(
                "the form field {name:?} is longer than {MAX_TEXT_BYTES} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// A client may send a path (`C:\rules\local.rules`, `../x.rules`): only its last component
/// names the file.
fn base_name(sent: &str) -> String {
    sent.rsplit(['/', '\\']).next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(body: &[u8], boundary: &str) -> Result<Form, FormError> {
        futures::executor::block_on(read(Bytes::copy_from_slice(body), boundary))
    }

    fn part(boundary: &str, disposition: &str, content: &[u8]) -> Vec<u8> {
        let mut out =
            format!("--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n")
                .into_bytes();
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
        out
    }

    fn end(boundary: &str) -> Vec<u8> {
        format!("--{boundary}--\r\n").into_bytes()
    }

    #[test]
    fn only_multipart_form_data_is_read_as_a_form() {
        assert_eq!(boundary(None), None);
        assert_eq!(boundary(Some("application/octet-stream")), None);
        assert_eq!(boundary(Some("application/json; charset=utf-8")), None);
        assert_eq!(
            boundary(Some("Multipart/Form-Data; boundary=abc")),
            Some(Ok("abc".into()))
        );
        assert_eq!(
            boundary(Some("multipart/form-data; boundary=\"a b\"")),
            Some(Ok("a b".into()))
        );
        let Some(Err(e)) = boundary(Some("multipart/form-data")) else {
            panic!("a multipart type without a boundary is an error");
        };
        assert!(e.0.contains("boundary"), "{e}");
    }

    #[test]
    fn files_and_fields_come_apart_and_paths_lose_their_directories() {
        let b = "XyZ";
        let mut body = part(b, "name=\"comment\"", "tuning é".as_bytes());
        body.extend(part(
            b,
            "name=\"file\"; filename=\"C:\\\\rules\\\\local.rules\"",
            b"alert ip any any -> any any (sid:1;)\r\n\r\n",
        ));
        body.extend(part(b, "name=\"other\"; filename=\"../../x.rules\"", b""));
        body.extend(end(b));
        let form = run(&body, b).unwrap();
        assert_eq!(form.field("comment"), Some("tuning é"));
        assert_eq!(form.files.len(), 2);
        assert_eq!(form.files[0].name, "file");
        assert_eq!(form.files[0].file_name, "local.rules");
        // The part's own line breaks are kept; only the one before the boundary goes.
        assert_eq!(
            &form.files[0].bytes[..],
            b"alert ip any any -> any any (sid:1;)\r\n\r\n"
        );
        assert_eq!(form.files[1].file_name, "x.rules");
        assert!(form.files[1].bytes.is_empty());
    }

    #[test]
    fn a_file_sent_as_a_text_field_named_file_is_the_file() {
        let b = "q";
        let mut body = part(b, "name=\"file\"", b"alert tcp any any -> any any (sid:2;)");
        body.extend(end(b));
        let form = run(&body, b).unwrap();
        assert_eq!(form.fields, vec![]);
        assert_eq!(form.files[0].file_name, "");
        assert_eq!(
            &form.files[0].bytes[..],
            b"alert tcp any any -> any any (sid:2;)"
        );
    }

    #[test]
    fn hostile_forms_are_refused_with_what_is_wrong() {
        let b = "b";
        // Too many parts.
        let mut body = Vec::new();
        for i in 0..=MAX_PARTS {
            body.extend(part(b, &format!("name=\"f{i}\""), b"x"));
        }
        body.extend(end(b));
        assert!(run(&body, b).unwrap_err().0.contains("more than 16 parts"));
        // A text field past its bound.
        let mut body = part(
            b,
            "name=\"comment\"",
            &vec![b'a'; MAX_TEXT_BYTES as usize + 1],
        );
        body.extend(end(b));
        assert!(run(&body, b).unwrap_err().0.contains("longer than"));
        // Not UTF-8.
        let mut body = part(b, "name=\"comment\"", &[0xff, 0xfe]);
        body.extend(end(b));
        assert!(run(&body, b).unwrap_err().0.contains("not UTF-8"));
        // No name.
        let mut body = part(b, "filename=\"a.rules\"", b"x");
        body.extend(end(b));
        assert!(run(&body, b).unwrap_err().0.contains("no name"));
        // Cut short, and not multipart at all.
        let body = part(b, "name=\"file\"; filename=\"a\"", b"x");
        assert!(run(&body, b).unwrap_err().0.contains("not valid multipart"));
        assert!(run(b"alert ip any any", b)
            .unwrap_err()
            .0
            .contains("not valid multipart"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// What a client puts in a form is what is read back, whatever the bytes.
        #[test]
        fn a_form_reads_back_what_was_sent(
            boundary in "[A-Za-z0-9'()+_,./:=?-]{1,40}[A-Za-z0-9]",
            file in proptest::collection::vec(any::<u8>(), 0..2000),
            file_name in "[A-Za-z0-9._ -]{1,30}",
            comment in "\\PC{0,200}",
        ) {
            // A body that holds its own boundary is the client's error, not a form.
            let delimiter = format!("\r\n--{boundary}");
            let holds = |content: &[u8]| {
                let framed = [b"\r\n", content].concat();
                framed.windows(delimiter.len()).any(|w| w == delimiter.as_bytes())
            };
            prop_assume!(!holds(&file) && !holds(comment.as_bytes()));
            let mut body = part(&boundary, "name=\"comment\"", comment.as_bytes());
            body.extend(part(
                &boundary,
                &format!("name=\"file\"; filename=\"{file_name}\""),
                &file,
            ));
            body.extend(end(&boundary));
            let form = run(&body, &boundary).unwrap();
            prop_assert_eq!(form.field("comment"), Some(comment.as_str()));
            prop_assert_eq!(form.files.len(), 1);
            prop_assert_eq!(&form.files[0].file_name, &file_name);
            prop_assert_eq!(&form.files[0].bytes[..], &file[..]);
        }

        /// Any bytes under any boundary: an answer, never a panic.
        #[test]
        fn any_body_is_read_or_refused(
            body in proptest::collection::vec(any::<u8>(), 0..600),
            boundary in "[a-z]{1,8}",
        ) {
            let _ = run(&body, &boundary);
        }
    }
}
