"""HappyMaps: the Overview page. Other pages live in pages/ (Streamlit's pages folder)."""

import pandas as pd
import streamlit as st

import ui
from vislib import plots, zoo

ui.setup_page("Overview")
st.title("HappyMaps")
st.markdown(
    "Small convolutional networks were trained on the CMU Face Images to answer **“is this face "
    "looking left?”**. All of them score about 100% on CMU test faces, yet they fail on photos of "
    "other people. HappyMaps shows what each network has learned (the *HappyMaps* page: for each "
    "unit, the picture that excites it most) and why it decides what it decides (the *Your photo* "
    "page: where the network looks in a photo)."
)

variant = ui.variant_picker()
spec = zoo.variant(variant)
metrics = ui.load_or_stop(ui.metrics, variant)
history = ui.load_or_stop(ui.history, variant)
network = ui.load_or_stop(ui.model, variant)

st.header(f"{variant}: {spec.title}")
acc = metrics["accuracy"]
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Parameters", f"{metrics['params']:,}")
c2.metric("CMU train accuracy", f"{acc['train']:.1%}")
c3.metric("CMU test accuracy", f"{acc['test']:.1%}")
c4.metric("Three amigos (face framed)", f"{acc['three_amigos']['overall']:.1%}")
c5.metric("Three amigos (whole frame)", f"{acc['three_amigos_full_frame']['overall']:.1%}")
st.caption(f"Task: {' / '.join(metrics['classes'])}. "
           f"Chance on the three amigos for “always say the commonest class” is "
           f"{max(sum(r) for r in metrics['confusion']['three_amigos']) / sum(map(sum, metrics['confusion']['three_amigos'])):.1%}.")
st.plotly_chart(plots.accuracy_bars(acc), width="stretch")

tab_arch, tab_curves, tab_confusion, tab_all = st.tabs(
    ["Architecture", "Training curves", "Confusion matrices", "All variants"])
with tab_arch:
    st.dataframe(pd.DataFrame(zoo.layer_table(network)), hide_index=True, width="stretch")
with tab_curves:
    st.plotly_chart(plots.training_curves(history), width="stretch")
    st.caption(f"{metrics['epochs']} epochs, {metrics['training_seconds']:.0f} s on the training machine.")
with tab_confusion:
    cols = st.columns(3)
    for col, (key, title) in zip(cols, (("test", "CMU test"), ("three_amigos", "Three amigos, face framed"),
                                        ("three_amigos_full_frame", "Three amigos, whole frame"))):
        col.plotly_chart(plots.confusion_matrix(metrics["confusion"][key], metrics["classes"], title),
                         width="stretch")
with tab_all:
    try:
        rows = ui.results_rows()
    except zoo.ModelLoadError as error:  # another variant's file: say so here, keep the page
        st.error(str(error))
    else:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                     column_config={k: st.column_config.NumberColumn(format="percent") for k in list(rows[0])[3:]})
ui.cite_pointing04()
