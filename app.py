"""LEO Explorer — placeholder entry point (the multi-page app replaces it)."""

import streamlit as st


def main() -> None:
    st.set_page_config(page_title="LEO Explorer", layout="wide")
    st.title("LEO Explorer")
    st.write("Meta-learning explorer. Pages are being built.")


main()
